package mcpjweauth

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The bad-input battery (josetest.BatteryCases, josetest.DPoPBatteryCases)
// runs here in-process, counting key operations and reading the logged
// reason; the integration tests send the same table through the real Caddy
// (log hygiene, concurrent clients).

// batteryMaxAlloc bounds what answering the deflate bomb may allocate: the
// bomb inflates to 10 MiB, and a refusal before decryption needs a few KB.
// "Answered fast" is not timed: the cases whose attack is a cost (PBES2
// p2c, 200 recipients, the bomb, 1 MiB) must be refused before any
// private-key operation, which is counted, so the costly work never starts.
const batteryMaxAlloc = 4 << 20

// hardHandler parses block as a Caddyfile and provisions the handler
// in-process, with its log observed.
func hardHandler(t testing.TB, block string) (*Handler, *observer.ObservedLogs) {
	t.Helper()
	tokens, err := caddyfile.Tokenize([]byte(block), "Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	h := new(Handler)
	if err := h.UnmarshalCaddyfile(caddyfile.NewDispenser(tokens)); err != nil {
		t.Fatal(err)
	}
	// Without a config, Caddy's context would give Provision a development
	// logger, whose warnings (allow_unsigned's) come with a stack trace.
	core, logs := observer.New(zapcore.DebugLevel)
	h.logger = zap.New(core)
	provisionHandler(t, h)
	logs.TakeAll() // the warnings of Provision
	return h, logs
}

// hardResult is what one in-process request produced.
type hardResult struct {
	status       int
	header       http.Header
	body         string
	nextCalled   bool
	seen         http.Header // the request headers the next handler got
	placeholders *caddy.Replacer
}

// hardServe runs one request through h in-process, the next handler
// answering 200.
func hardServe(t testing.TB, h *Handler, target string, header http.Header) hardResult {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for name, values := range header {
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	repl := caddy.NewReplacer()
	req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, repl))
	rec := httptest.NewRecorder()
	res := hardResult{placeholders: repl}
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		res.nextCalled = true
		res.seen = r.Header.Clone()
		w.WriteHeader(http.StatusOK)
		return nil
	})
	if err := h.ServeHTTP(rec, req, next); err != nil {
		t.Errorf("ServeHTTP returned %v", err)
	}
	res.status, res.header, res.body = rec.Code, rec.Header(), rec.Body.String()
	return res
}

// hardLoggedReasons returns the reasons of the "token refused" lines.
func hardLoggedReasons(logs *observer.ObservedLogs) []string {
	var reasons []string
	for _, entry := range logs.TakeAll() {
		if reason, ok := entry.ContextMap()["reason"].(string); ok {
			reasons = append(reasons, reason)
		}
	}
	return reasons
}

func TestBattery(t *testing.T) {
	e := josetest.NewBattery(t)
	handlers := map[string]*Handler{}
	logs := map[string]*observer.ObservedLogs{}
	handlers["unsigned"], logs["unsigned"] = hardHandler(t, e.UnsignedBlock())
	handlers["signed"], logs["signed"] = hardHandler(t, e.SignedBlock())
	const base = "http://mcp.test"

	for _, tc := range josetest.BatteryCases(t, e) {
		t.Run(tc.Name, func(t *testing.T) {
			h := handlers[tc.Site]
			hardLoggedReasons(logs[tc.Site]) // drop earlier lines
			ops := h.verifier.KeyOperations()
			res := hardServe(t, h, base+"/mcp"+tc.Query, tc.Header)
			ops = h.verifier.KeyOperations() - ops
			reasons := hardLoggedReasons(logs[tc.Site])
			if tc.FlatMemory {
				hardCheckFlatMemory(t, h, base+"/mcp"+tc.Query, tc.Header)
			}

			if tc.Accepted != nil {
				if res.status != http.StatusOK || !res.nextCalled {
					t.Fatalf("status %d (next called: %v), want 200; logged %q; body %s", res.status, res.nextCalled, reasons, res.body)
				}
				if res.seen.Get("Authorization") != "" {
					t.Error("the Authorization header reached the next handler")
				}
				tc.Accepted(t, res.seen)
				return
			}
			if res.nextCalled {
				t.Fatal("a refused request reached the next handler")
			}
			josetest.CheckRefusal(t, res.status, res.header, res.body, base, tc.NoToken)
			if reason := batteryReason(t, tc.Reason); len(reasons) != 1 || !strings.Contains(reasons[0], reason.Error()) {
				t.Errorf("logged reasons %q, want one naming %q", reasons, tc.Reason)
			}
			switch {
			case tc.PreKey && ops != 0:
				t.Errorf("%d private-key operations, want none: the check comes first", ops)
			case !tc.PreKey && ops == 0:
				t.Errorf("no private-key operation: the case does not reach the check it is meant to")
			}
		})
	}
	if n := e.Trap.Accepted.Load(); n != 0 {
		t.Errorf("the loopback listener named by jku/x5u accepted %d connections", n)
	}
	// The claim with a non-ASCII name is a placeholder too.
	res := hardServe(t, handlers["unsigned"], base+"/mcp", http.Header{"Authorization": {"Bearer " + e.Unsigned(t, []byte(fmt.Sprintf(
		`{"iat":%d,"exp":%d,"name":"n","email":"e","名前":"Zoë"}`, time.Now().Unix(), time.Now().Add(time.Hour).Unix())))}})
	if got, _ := res.placeholders.GetString("http.auth.user.名前"); res.status != 200 || got != "Zoë" {
		t.Errorf("{http.auth.user.名前} = %q (status %d), want Zoë", got, res.status)
	}
}

// hardCheckFlatMemory sends one request three times and requires the
// bytes allocated while answering (the least of the three, so a background
// goroutine of another test cannot make it fail) to stay under
// batteryMaxAlloc. It counts bytes, not time.
func hardCheckFlatMemory(t *testing.T, h *Handler, target string, header http.Header) {
	t.Helper()
	least := uint64(math.MaxUint64)
	for range 3 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		hardServe(t, h, target, header)
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	if least > batteryMaxAlloc {
		t.Errorf("answering allocated %d bytes, want under %d", least, batteryMaxAlloc)
	}
	t.Logf("allocated %d bytes while answering", least)
}

// TestBatteryReasonsCovered makes sure the battery exercises every reason a
// token can be refused for: each Err* sentinel declared in the token core's
// errors.go and in verifier.go (ErrBusy, in gate.go, is a 503, not a refusal of
// the token), read from the files themselves, so a new sentinel without a
// battery case fails here.
func TestBatteryReasonsCovered(t *testing.T) {
	e := josetest.NewBattery(t)
	covered := map[error]bool{}
	for _, tc := range josetest.BatteryCases(t, e) {
		if tc.Reason != "" {
			covered[batteryReason(t, tc.Reason)] = true
		}
	}
	for _, tc := range josetest.DPoPBatteryCases(t, e, func(string) string { return dpopBatteryTarget }) { // TestBatteryDPoP
		if tc.Reason != "" {
			covered[batteryReason(t, tc.Reason)] = true
		}
	}
	byName := sentinelsByName()
	for path, prefix := range map[string]string{"internal/jose/errors.go": "jose.", "verifier.go": ""} {
		names := josetest.SentinelNames(t, path)
		if len(names) == 0 {
			t.Errorf("%s declares no Err* sentinel", path)
		}
		for _, name := range names {
			reason, ok := byName[prefix+name]
			switch {
			case !ok:
				t.Errorf("%s%s (declared in %s): add it to sentinelsByName", prefix, name, path)
			case !covered[reason]:
				t.Errorf("no battery case is refused for %s%s (%q)", prefix, name, reason)
			}
		}
	}
}

// batteryReason is the sentinel error a battery case names.
func batteryReason(t *testing.T, name string) error {
	t.Helper()
	reason, ok := sentinelsByName()[name]
	if !ok {
		t.Fatalf("the battery names %q, which sentinelsByName does not list", name)
	}
	return reason
}
