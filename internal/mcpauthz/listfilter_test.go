package mcpauthz

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
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

// filterFor parses request and returns its list filter for userToken.
func filterFor(t *testing.T, rs *RuleSet, request string) *ListFilter {
	t.Helper()
	msgs, err := ParseRequestBody([]byte(request))
	if err != nil {
		t.Fatal(err)
	}
	f := rs.NewListFilter(msgs, userToken)
	if f == nil {
		t.Fatalf("no filter for %s", request)
	}
	return f
}

const internalErrorTail = `,"error":{"code":-32603,"message":"Internal error"}}`

func TestFilterBody(t *testing.T) {
	rs := testRules(t)
	for _, tc := range []struct {
		name, request, response, want string
		done                          bool
	}{
		{
			name:     "removes exactly the failing tools, keeps every other member as it was",
			request:  `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
			response: `{"jsonrpc":"2.0", "id":1, "result":{"_meta":{"a":[1, 2]},"tools":[ {"name":"echo","inputSchema":{"type":"object"}} , {"name":"admin_read"},{"name":"user_delete","description":"x"},{"name":"search"} ],"nextCursor":"c2"}, "extra":true}`,
			want:     `{"jsonrpc":"2.0", "id":1, "result":{"_meta":{"a":[1, 2]},"tools":[{"name":"echo","inputSchema":{"type":"object"}},{"name":"search"}],"nextCursor":"c2"}, "extra":true}`,
			done:     true,
		},
		{
			name:     "nothing to remove: the body is unchanged byte for byte",
			request:  `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
			response: "{ \"id\" : 1 ,\n \"result\" : { \"tools\" : [ { \"name\" : \"echo\" } ] } }\n",
			want:     "{ \"id\" : 1 ,\n \"result\" : { \"tools\" : [ { \"name\" : \"echo\" } ] } }\n",
			done:     true,
		},
		{
			name:     "string id, spelled differently",
			request:  `{"id":"a-1","method":"prompts/list"}`,
			response: `{"id":"\u0061-1","result":{"prompts":[{"name":"secret"},{"name":"open"}]}}`,
			want:     `{"id":"\u0061-1","result":{"prompts":[{"name":"open"}]}}`,
			done:     true,
		},
		{
			name:     "number id read as a number",
			request:  `{"id":1.0,"method":"resources/list"}`,
			response: `{"id":1,"result":{"resources":[{"uri":"file:///h/private/k","name":"key"},{"uri":"file:///h/public/r"}],"nextCursor":null}}`,
			want:     `{"id":1,"result":{"resources":[{"uri":"file:///h/public/r"}],"nextCursor":null}}`,
			done:     true,
		},
		{
			name:     "minus zero",
			request:  `{"id":-0,"method":"tools/list"}`,
			response: `{"id":0,"result":{"tools":[{"name":"admin_x"}]}}`,
			want:     `{"id":0,"result":{"tools":[]}}`,
			done:     true,
		},
		{
			name:     "a string id is not the number",
			request:  `{"id":"1","method":"tools/list"}`,
			response: `{"id":1,"result":{"tools":[{"name":"admin_x"}]}}`,
			want:     `{"id":1,"result":{"tools":[{"name":"admin_x"}]}}`,
		},
		{
			name:     "entry names folded like encoding/json, missing names matched as empty",
			request:  `{"id":1,"method":"tools/list"}`,
			response: `{"ID":1,"Result":{"TOOLS":[{"NAME":"admin_x"},{"description":"no name"},{"name":5},{"name":"ok"}]}}`,
			want:     `{"ID":1,"Result":{"TOOLS":[{"description":"no name"},{"name":5},{"name":"ok"}]}}`,
			done:     true,
		},
		{
			name:     "batch: each response by its id, others unchanged",
			request:  `[{"id":1,"method":"tools/list"},{"id":"p","method":"prompts/list"},{"id":3,"method":"tools/call","params":{"name":"echo"}}]`,
			response: `[{"id":3,"result":{"content":[]}}, {"id":"p","result":{"prompts":[{"name":"secret"}]}}, {"id":1,"result":{"tools":[{"name":"admin_a"},{"name":"b"}]}}]`,
			want:     `[{"id":3,"result":{"content":[]}},{"id":"p","result":{"prompts":[]}},{"id":1,"result":{"tools":[{"name":"b"}]}}]`,
			done:     true,
		},
		{
			name:     "error responses and unknown ids pass",
			request:  `[{"id":1,"method":"tools/list"},{"id":2,"method":"tools/list"}]`,
			response: `[{"id":1,"error":{"code":-32601,"message":"no"}},{"id":9,"result":{"tools":[{"name":"admin_a"}]}}]`,
			want:     `[{"id":1,"error":{"code":-32601,"message":"no"}},{"id":9,"result":{"tools":[{"name":"admin_a"}]}}]`,
		},
		{
			name:     "a request of the server with the same id is not the response",
			request:  `{"id":1,"method":"tools/list"}`,
			response: `{"id":1,"method":"sampling/createMessage","params":{}}`,
			want:     `{"id":1,"method":"sampling/createMessage","params":{}}`,
		},
		{
			name:     "a result without the listing",
			request:  `{"id":1,"method":"tools/list"}`,
			response: `{"id":1,"result":{}}`,
			want:     `{"id":1,"result":{}}`,
			done:     true,
		},
		{
			name:     "invalid JSON fails closed with the request's id",
			request:  `{"id":"x","method":"tools/list"}`,
			response: `{"id":"x","result":{"tools":[{"name":"admin_a"}],}}`,
			want:     `{"jsonrpc":"2.0","id":"x"` + internalErrorTail,
		},
		{
			name:     "invalid JSON with several list calls: an error for each",
			request:  `[{"id":1,"method":"tools/list"},{"id":2,"method":"prompts/list"},{"id":3,"method":"ping"}]`,
			response: `[{"id":1,"result":{"tools":[NaN]}}]`,
			want:     `[{"jsonrpc":"2.0","id":1` + internalErrorTail + `,{"jsonrpc":"2.0","id":2` + internalErrorTail + `]`,
		},
		{
			name:     "invalid UTF-8 fails closed",
			request:  `{"id":1,"method":"tools/list"}`,
			response: "{\"id\":1,\"result\":{\"tools\":[{\"name\":\"admin_\xff\"}]}}",
			want:     `{"jsonrpc":"2.0","id":1` + internalErrorTail,
		},
		{
			name:     "a repeated listing fails closed",
			request:  `{"id":1,"method":"tools/list"}`,
			response: `{"id":1,"result":{"tools":[],"Tools":[{"name":"admin_a"}]}}`,
			want:     `{"jsonrpc":"2.0","id":1` + internalErrorTail,
			done:     true,
		},
		{
			name:     "a repeated id fails closed",
			request:  `{"id":1,"method":"tools/list"}`,
			response: `{"id":2,"result":{"tools":[{"name":"admin_a"}]},"iD":1}`,
			want:     `{"jsonrpc":"2.0","id":1` + internalErrorTail,
		},
		{
			name:     "a repeated entry name fails closed",
			request:  `{"id":1,"method":"tools/list"}`,
			response: `{"id":1,"result":{"tools":[{"name":"ok","Name":"admin_a"}]}}`,
			want:     `{"jsonrpc":"2.0","id":1` + internalErrorTail,
			done:     true,
		},
		{
			name:     "a listing that is not an array of objects fails closed for that id only",
			request:  `[{"id":1,"method":"tools/list"},{"id":2,"method":"tools/list"}]`,
			response: `[{"id":1,"result":{"tools":["admin_a"]}},{"id":2,"result":{"tools":{"name":"admin_a"}}},{"id":5,"result":{}}]`,
			want:     `[{"jsonrpc":"2.0","id":1` + internalErrorTail + `,{"jsonrpc":"2.0","id":2` + internalErrorTail + `,{"id":5,"result":{}}]`,
			done:     true,
		},
		{
			name:     "a result that is not an object fails closed",
			request:  `{"id":1,"method":"tools/list"}`,
			response: `{"id":1,"result":[{"name":"admin_a"}]}`,
			want:     `{"jsonrpc":"2.0","id":1` + internalErrorTail,
			done:     true,
		},
		{
			name:     "two requests under one id: both responses are filtered",
			request:  `[{"id":1,"method":"tools/call","params":{"name":"echo"}},{"id":1,"method":"tools/list"}]`,
			response: `[{"id":1,"result":{"content":[]}},{"id":1,"result":{"tools":[{"name":"admin_a"}]}}]`,
			want:     `[{"id":1,"result":{"content":[]}},{"id":1,"result":{"tools":[]}}]`,
			done:     true,
		},
		{
			name:     "two listings under one id, in either order",
			request:  `[{"id":1,"method":"prompts/list"},{"id":1,"method":"tools/list"}]`,
			response: `{"id":1,"result":{"prompts":[{"name":"secret"},{"name":"p"}],"tools":[{"name":"admin_a"},{"name":"t"}]}}`,
			want:     `{"id":1,"result":{"prompts":[{"name":"p"}],"tools":[{"name":"t"}]}}`,
		},
		{
			name:     "a scalar body is no response",
			request:  `{"id":1,"method":"tools/list"}`,
			response: ` "hello" `,
			want:     ` "hello" `,
		},
		{
			name:     "an empty body is unchanged",
			request:  `{"id":1,"method":"tools/list"}`,
			response: ``,
			want:     ``,
		},
	} {
		f := filterFor(t, rs, tc.request)
		if got := string(f.FilterBody([]byte(tc.response))); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		if f.Done() != tc.done {
			t.Errorf("%s: Done is %v", tc.name, f.Done())
		}
	}
}

func TestFilterPassesGrantedToken(t *testing.T) {
	rs := testRules(t)
	msgs, err := ParseRequestBody([]byte(`{"id":1,"method":"tools/list"}`))
	if err != nil {
		t.Fatal(err)
	}
	f := rs.NewListFilter(msgs, grants(rs.AllScopes()...))
	body := []byte(`{"id":1,"result":{"tools":[{"name":"admin_a"},{"name":"x_delete"},{"name":"e"}]}}`)
	if got := f.FilterBody(body); &got[0] != &body[0] {
		t.Errorf("a token with every scope: got %s, want the body itself", got)
	}
	// The predicate sees the scopes of calling each entry.
	var asked [][]string
	f = rs.NewListFilter(msgs, func(s []string) bool { asked = append(asked, s); return true })
	f.FilterBody(body)
	want := [][]string{{"mcp", "tools", "admin"}, {"mcp", "tools", "delete"}, {"mcp", "tools", "tools:any"}}
	if !slices.EqualFunc(asked, want, slices.Equal) {
		t.Errorf("got %q, want %q", asked, want)
	}
}

func TestNewListFilterNeedsRulesOfTheKind(t *testing.T) {
	onlyTools, err := NewRuleSet([]string{"mcp"}, []Rule{
		{Kind: Tool, Pattern: "admin_*", Scopes: []string{"admin"}},
		{Kind: Method, Pattern: "*", Scopes: []string{"any"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, request := range []string{
		`{"id":1,"method":"prompts/list"}`,
		`{"id":1,"method":"resources/list"}`,
		`{"method":"tools/list"}`,
		`{"id":1,"method":"tools/call","params":{"name":"admin_a"}}`,
		`{"id":1,"result":{}}`,
		`[]`,
	} {
		msgs, err := ParseRequestBody([]byte(request))
		if err != nil {
			t.Fatal(err)
		}
		if f := onlyTools.NewListFilter(msgs, userToken); f != nil {
			t.Errorf("%s: got a filter", request)
		}
	}
	// A prompts/list beside a tools/list: its listing is never touched,
	// not even when it cannot be parsed.
	f := filterFor(t, onlyTools, `[{"id":1,"method":"tools/list"},{"id":2,"method":"prompts/list"}]`)
	body := `[{"id":2,"result":{"prompts":[{"name":"x","Name":"y"},7]}},{"id":1,"result":{"tools":[{"name":"admin_a"}]}}]`
	want := `[{"id":2,"result":{"prompts":[{"name":"x","Name":"y"},7]}},{"id":1,"result":{"tools":[]}}]`
	if got := string(f.FilterBody([]byte(body))); got != want {
		t.Errorf("got %s", got)
	}
}

func TestClosedIDsDropLaterResponses(t *testing.T) {
	f := filterFor(t, testRules(t), `[{"id":1,"method":"tools/list"},{"id":2,"method":"ping"}]`)
	out, act := f.rewrite([]byte(`not json`))
	if act != actReplace || string(out) != `{"jsonrpc":"2.0","id":1`+internalErrorTail {
		t.Fatalf("got %s, %v", out, act)
	}
	if _, act := f.rewrite([]byte(`{"id":1,"result":{"tools":[{"name":"admin_a"}]}}`)); act != actDrop {
		t.Errorf("the late response: got %v, want it dropped", act)
	}
	if _, act := f.rewrite([]byte(`{"id":2,"result":{}}`)); act != actKeep {
		t.Errorf("another response: got %v", act)
	}
	if _, act := f.rewrite([]byte(`{`)); act != actDrop {
		t.Errorf("unparseable with nothing open: got %v, want it dropped", act)
	}
	if f.Done() {
		t.Error("Done after an internal error")
	}
	if got := string(f.FilterBody([]byte(`[{"id":1,"result":{}}]`))); got != `[]` {
		t.Errorf("a batch of dropped responses: got %s", got)
	}
}

func TestFilterToolsList200(t *testing.T) {
	msgs, err := ParseRequestBody([]byte(listRequest))
	if err != nil {
		t.Fatal(err)
	}
	out := testRules(t).NewListFilter(msgs, userToken).FilterBody(toolsList200())
	var resp struct {
		Result struct {
			Tools []struct {
				Name string `json:"name"`
			} `json:"tools"`
			NextCursor string `json:"nextCursor"`
		} `json:"result"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Result.Tools) != 100 || resp.Result.NextCursor != "c" {
		t.Fatalf("%d tools, cursor %q", len(resp.Result.Tools), resp.Result.NextCursor)
	}
	for i, tool := range resp.Result.Tools {
		if want := fmt.Sprintf("tool_%03d", 2*i); tool.Name != want {
			t.Errorf("tool %d is %s, want %s", i, tool.Name, want)
		}
	}
}

func TestNewListFilterWithoutListingsDoesNotAllocate(t *testing.T) {
	rs := testRules(t)
	msgs, err := ParseRequestBody([]byte(`[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}},{"jsonrpc":"2.0","method":"tools/list"}]`))
	if err != nil {
		t.Fatal(err)
	}
	allowed := func([]string) bool { return true }
	if n := testing.AllocsPerRun(100, func() {
		if rs.NewListFilter(msgs, allowed) != nil {
			t.Fatal("a filter for a call and a list notification without id")
		}
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
