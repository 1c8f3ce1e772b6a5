package mcpauthz

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jsonnames"
)

// grants returns the predicate of a token that grants the given scopes.
func grants(granted ...string) func([]string) bool {
	return func(required []string) bool {
		for _, s := range required {
			if !slices.Contains(granted, s) {
				return false
			}
		}
		return true
	}
}

// userToken may call any tool except admin_* and *_delete, may not read
// private files and may not get the secret prompt.
var userToken = grants("mcp", "tools", "tools:any", "any", "res")

// filterText runs a whole text through a listFilter in the given pieces.
func filterText(rs *RuleSet, allowed func([]string) bool, limit int, pieces ...string) (string, error) {
	f := newListFilter(context.Background(), rs, allowed, limit)
	defer f.dropHeld()
	for _, p := range pieces {
		if err := f.write([]byte(p)); err != nil {
			return string(f.out), err
		}
	}
	return string(f.out), f.end()
}

func TestListFilterKeepsExactlyTheAllowedEntries(t *testing.T) {
	rs := testRules(t)
	toolsOnly, err := NewRuleSet(nil, []Rule{{Kind: Tool, Pattern: "admin_*", Scopes: []string{"admin"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in, want string
		rs             *RuleSet
	}{
		{
			name: "tools: removes the failing ones, keeps every other member",
			in:   `{"jsonrpc":"2.0", "id":1, "result":{"_meta":{"a":[1, 2.5e-3, true, null]},"tools":[ {"name":"echo","inputSchema":{"type":"object"}} , {"name":"admin_read"},{"name":"user_delete","description":"x"},{"name":"search"} ],"nextCursor":"c2"}, "extra":"\u00e9\"x"}`,
			want: `{"jsonrpc":"2.0","id":1,"result":{"_meta":{"a":[1,2.5e-3,true,null]},"tools":[{"name":"echo","inputSchema":{"type":"object"}},{"name":"search"}],"nextCursor":"c2"},"extra":"\u00e9\"x"}`,
		},
		{
			name: "prompts, resources and resource templates",
			in:   `{"jsonrpc":"2.0","id":"a","result":{"prompts":[{"name":"secret"},{"name":"p"}],"resources":[{"uri":"file:///u/private/k"},{"uri":"file:///u/pub"}],"resourceTemplates":[{"uriTemplate":"file:///{u}/private/{k}"},{"uriTemplate":"file:///{u}/pub"}]}}`,
			want: `{"jsonrpc":"2.0","id":"a","result":{"prompts":[{"name":"p"}],"resources":[{"uri":"file:///u/pub"}],"resourceTemplates":[{"uriTemplate":"file:///{u}/pub"}]}}`,
		},
		{
			name: "every spelling a decoder folds, and every copy of a member",
			in:   `{"jsonrpc":"2.0","id":1,"RESULT":{"Tools":[{"NAME":"admin_x"},{"name":"a"}],"\u0074ools":[{"name":"admin_y"}]},"result":{"tools":[{"name":"admin_z"}]}}`,
			want: `{"jsonrpc":"2.0","id":1,"RESULT":{"Tools":[{"name":"a"}],"\u0074ools":[]},"result":{"tools":[]}}`,
		},
		{
			name: "an escaped or missing name is read as a decoder reads it",
			in:   `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"adm\u0069n_x"},{"title":"no name"},{"name":7}]}}`,
			want: `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"title":"no name"},{"name":7}]}}`,
		},
		{
			name: "a batch of responses, with a server request and an error",
			in:   `[{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"admin_a"},{"name":"b"}]}},{"jsonrpc":"2.0","id":2,"method":"sampling/createMessage","params":{"tools":[{"name":"admin_a"}]}},{"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"m"}}]`,
			want: `[{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"b"}]}},{"jsonrpc":"2.0","id":2,"method":"sampling/createMessage","params":{"tools":[{"name":"admin_a"}]}},{"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"m"}}]`,
		},
		{
			name: "cacheScope becomes private, before or after the listing, whatever its value; ttlMs stays",
			in:   `{"jsonrpc":"2.0","id":1,"result":{"cacheScope":"public","tools":[],"ttlMs":60000,"CacheScope":{"x":[1]}}}`,
			want: `{"jsonrpc":"2.0","id":1,"result":{"cacheScope":"private","tools":[],"ttlMs":60000,"CacheScope":"private"}}`,
		},
		{
			name: "only kinds with rules are filtered",
			rs:   toolsOnly,
			in:   `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"admin_a"}],"resources":[{"uri":"file:///u/private/k"}],"cacheScope":"public"}}`,
			want: `{"jsonrpc":"2.0","id":1,"result":{"tools":[],"resources":[{"uri":"file:///u/private/k"}],"cacheScope":"private"}}`,
		},
		{
			name: "an empty text stays empty",
			in:   " \n",
			want: "",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules := rs
			if tc.rs != nil {
				rules = tc.rs
			}
			got, err := filterText(rules, userToken, 1<<20, tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("got %s, %v\nwant %s", got, err, tc.want)
			}
			if got != "" && !json.Valid([]byte(got)) {
				t.Fatalf("output is not JSON: %s", got)
			}
			// Cut anywhere, the text gives the same output.
			for i := range len(tc.in) {
				if got, err := filterText(rules, userToken, 1<<20, tc.in[:i], tc.in[i:]); err != nil || got != tc.want {
					t.Fatalf("cut at %d: got %s, %v", i, got, err)
				}
			}
			pieces := strings.Split(tc.in, "")
			if got, err := filterText(rules, userToken, 1<<20, pieces...); err != nil || got != tc.want {
				t.Fatalf("byte by byte: got %s, %v", got, err)
			}
		})
	}
}

func TestListFilterRefusesWhatIsNotJSONRPC(t *testing.T) {
	rs := testRules(t)
	for _, tc := range []struct{ name, in string }{
		{"plain text", "hello"},
		{"a byte order mark", "\xEF\xBB\xBF" + `{"jsonrpc":"2.0","id":1,"result":{}}`},
		{"no jsonrpc member", `{"id":1,"result":{"tools":[{"name":"admin_a"}]}}`},
		{"jsonrpc 1.0", `{"jsonrpc":"1.0","id":1,"result":{}}`},
		{"jsonrpc twice, once wrong", `{"jsonrpc":"2.0","JSONRPC":"2.1","id":1}`},
		{"jsonrpc a number", `{"jsonrpc":2.0,"id":1}`},
		{"a string", `"x"`},
		{"an empty batch", `[]`},
		{"a batch in a batch", `[[{"jsonrpc":"2.0","id":1}]]`},
		{"a batch with a number", `[{"jsonrpc":"2.0","id":1},3]`},
		{"a listing that is an object", `{"jsonrpc":"2.0","id":1,"result":{"tools":{"admin_a":{}}}}`},
		{"an entry that is a string", `{"jsonrpc":"2.0","id":1,"result":{"tools":["admin_a"]}}`},
		{"an entry that names itself twice", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","Name":"admin_a"}]}}`},
		{"invalid UTF-8", "{\"jsonrpc\":\"2.0\",\"id\":\"\xff\"}"},
		{"a surrogate in UTF-8", "{\"jsonrpc\":\"2.0\",\"id\":\"\xed\xa0\x80\"}"},
		{"a control byte in a string", "{\"jsonrpc\":\"2.0\",\"id\":\"a\nb\"}"},
		{"a bad number", `{"jsonrpc":"2.0","id":01}`},
		{"a bad escape", `{"jsonrpc":"2.0","id":"\x"}`},
		{"a second text", `{"jsonrpc":"2.0","id":1} {"jsonrpc":"2.0","id":2}`},
		{"cut short", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"}`},
		{"nested too deep", `{"jsonrpc":"2.0","id":1,"result":` + strings.Repeat("[", maxDepth)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := filterText(rs, userToken, 1<<20, tc.in)
			if !errors.Is(err, ErrUnreadableAnswer) {
				t.Fatalf("got %s, %v; want ErrUnreadableAnswer", got, err)
			}
			if json.Valid([]byte(got)) && !strings.HasPrefix(tc.name, "a second") {
				t.Fatalf("what went out before the refusal is a whole JSON text: %s", got)
			}
			if strings.Contains(got, `"id":2`) {
				t.Fatalf("the second text went out: %s", got)
			}
			if strings.Contains(got, "admin_a") {
				t.Fatalf("a refused entry went out: %s", got)
			}
		})
	}
}

// bigTool returns a tool entry of about size bytes.
func bigTool(name string, size int) string {
	return `{"name":"` + name + `","description":"` + strings.Repeat("d", size) + `"}`
}

func TestListFilterHoldsOneEntryAtATime(t *testing.T) {
	rs := testRules(t)
	huge := bigTool("admin_big", 3<<20)
	in := `{"jsonrpc":"2.0","id":1,"result":{"tools":[` + huge + `,` + bigTool("echo", 40<<10) + `]}}`
	f := newListFilter(context.Background(), rs, userToken, 4<<20)
	for i := 0; i < len(in); i += 1 << 12 {
		if err := f.write([]byte(in[i:min(i+1<<12, len(in))])); err != nil {
			t.Fatal(err)
		}
		if len(f.out) > 64<<10 {
			t.Fatalf("%d bytes went out or were kept: more than the allowed entry", len(f.out))
		}
		if strings.Contains(string(f.out), "admin_big") {
			t.Fatal("the refused entry went out")
		}
	}
	if err := f.end(); err != nil || f.grant.acquired != 0 {
		t.Fatal(err, f.grant.acquired)
	}
	want := `{"jsonrpc":"2.0","id":1,"result":{"tools":[` + bigTool("echo", 40<<10) + `]}}`
	if string(f.out) != want {
		t.Fatalf("got %d bytes, want %d", len(f.out), len(want))
	}
	// An entry over the limit is refused, never passed.
	if _, err := filterText(rs, grants("mcp", "tools", "tools:any", "any", "admin"), 1<<20, in); !errors.Is(err, ErrUnreadableAnswer) {
		t.Fatalf("an entry over the limit: %v", err)
	}
}

func TestListFilterWaitsForTheBudget(t *testing.T) {
	rs := testRules(t)
	if err := entryBudget.Acquire(context.Background(), entryBudgetBytes); err != nil {
		t.Fatal(err)
	}
	in := `{"jsonrpc":"2.0","id":1,"result":{"tools":[` + bigTool("echo", freeEntryBytes) + `]}}`
	ctx, cancel := context.WithCancel(context.Background())
	f := newListFilter(ctx, rs, userToken, 1<<20)
	done := make(chan error)
	go func() { done <- f.write([]byte(in)) }()
	cancel() // the whole budget is taken: the filter can only wait
	if err := <-done; !errors.Is(err, context.Canceled) || strings.Contains(string(f.out), "echo") {
		t.Fatalf("while the budget was taken: %v, out %d bytes", err, len(f.out))
	}
	f.dropHeld()
	entryBudget.Release(entryBudgetBytes)
	if got, err := filterText(rs, userToken, 1<<20, in); err != nil || !strings.Contains(got, "echo") {
		t.Fatalf("with the budget free: %v", err)
	}
}

// checkFiltered fails when the JSON text out shows, to a decoder that folds
// member names, a listing entry that allowed refuses, or when its messages
// are not JSON-RPC.
func checkFiltered(t *testing.T, rs *RuleSet, allowed func([]string) bool, out []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("output is not JSON: %v: %q", err, out)
	}
	msgs, ok := v.([]any)
	if !ok {
		msgs = []any{v}
	}
	for _, m := range msgs {
		obj, ok := m.(map[string]any)
		if !ok {
			t.Fatalf("a message is not an object: %q", out)
		}
		for name, res := range obj {
			if jsonnames.Fold(name) == "jsonrpc" && res != "2.0" {
				t.Fatalf("jsonrpc %v passed: %q", res, out)
			}
			result, ok := res.(map[string]any)
			if jsonnames.Fold(name) != "result" || !ok {
				continue
			}
			for member, entries := range result {
				for _, l := range listings {
					if !rs.Has(l.kind) || jsonnames.Fold(member) != jsonnames.Fold(l.member) {
						continue
					}
					list, _ := entries.([]any)
					for _, e := range list {
						for k, target := range e.(map[string]any) {
							s, _ := target.(string)
							if jsonnames.Fold(k) == jsonnames.Fold(l.key) && !allowed(rs.ScopesFor(l.call, s)) {
								t.Fatalf("entry %q passed: %q", s, out)
							}
						}
					}
				}
			}
		}
	}
}
