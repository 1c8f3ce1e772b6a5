package mcpjweauth

import (
	"context"
	"net/http"
	"runtime"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/admission"
)

// How long a request waits for its private-key operation before it is
// answered 503: a source without recent failures maxKeyOperationWait, a
// suspect source (its tokens failed recently) suspectKeyOperationWait.
const (
	maxKeyOperationWait     = time.Second
	suspectKeyOperationWait = 5 * time.Second
)

// keyOperationGate admits private-key operations by source (see
// internal/admission): a client whose failed tokens recently outnumbered
// its accepted ones by a few shares with every other such client one
// operation at a time and an eighth of a core, and is answered 503 first;
// a client that had a token accepted in the last ten minutes gets the next
// free slot before anyone else; everyone else may use every core. Requests
// whose token is cached never wait for it; they only mark their source as
// known. The docs/benchmarks.md section on admission explains the trade.
type keyOperationGate struct {
	admission *admission.Gate
}

// newKeyOperationGate allows keyOperationSlots operations at once.
func newKeyOperationGate() *keyOperationGate {
	return &keyOperationGate{admission: admission.New(admission.Config{
		Slots:       keyOperationSlots(),
		MaxWait:     maxKeyOperationWait,
		SuspectWait: suspectKeyOperationWait,
	})}
}

// keyOperationSlots is every usable CPU: a flood of bogus tokens is held to
// its small share by source, so new tokens from everyone else may use the
// whole machine.
func keyOperationSlots() int {
	return runtime.GOMAXPROCS(0)
}

// acquire waits for the turn of src's private-key operation and returns
// its release.
func (g *keyOperationGate) acquire(ctx context.Context, src admission.Source) (func(), error) {
	ticket, err := g.admission.Acquire(ctx, src)
	if err != nil {
		return nil, err
	}
	return func() { g.admission.Release(ticket) }, nil
}

// failed records that a token from src failed decryption or verification.
func (g *keyOperationGate) failed(src admission.Source) {
	g.admission.Failed(src)
}

// verified records that a token from src passed decryption and
// verification: src is known, and its new tokens keep a lane under a flood.
func (g *keyOperationGate) verified(src admission.Source) {
	g.admission.Verified(src)
}

// accepted records that a cached token from src was accepted; it allocates
// nothing.
func (g *keyOperationGate) accepted(src admission.Source) {
	g.admission.Accepted(src)
}

// requestSource is the client a request comes from, as Caddy determined
// it (honouring trusted_proxies), or the connection's remote address.
func requestSource(r *http.Request) admission.Source {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return admission.SourceOf(ip)
	}
	return admission.SourceOf(r.RemoteAddr)
}

// ErrBusy: no private-key operation could start in time (every slot taken,
// or the share of a source whose tokens failed recently in use); the
// request is answered 503 with Retry-After instead of queueing further.
var ErrBusy = admission.ErrBusy
