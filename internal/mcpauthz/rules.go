package mcpauthz

import (
	"fmt"
	"slices"
)

// Kind says what a rule is matched against.
type Kind uint8

// The kinds of rules, one per Caddyfile subdirective.
const (
	// Tool rules (mcp_tool) match tools/call by params.name.
	Tool Kind = iota
	// Prompt rules (mcp_prompt) match prompts/get by params.name.
	Prompt
	// Resource rules (mcp_resource) match resources/read and
	// resources/subscribe by params.uri.
	Resource
	// Method rules (mcp_method) match any method by its name.
	Method
	// Argument rules (mcp_argument) match tools/call by params.name and
	// the value of one of its arguments.
	Argument
)

// targetKinds is the number of kinds matched against a message's target
// (Tool, Prompt, Resource); Method comes after them.
const targetKinds = 3

// String returns the Caddyfile subdirective of the kind.
func (k Kind) String() string {
	switch k {
	case Tool:
		return "mcp_tool"
	case Prompt:
		return "mcp_prompt"
	case Resource:
		return "mcp_resource"
	case Method:
		return "mcp_method"
	case Argument:
		return "mcp_argument"
	}
	return fmt.Sprintf("rule kind %d", uint8(k))
}

// KindOf returns the kind of rule that decides a call of method: Tool,
// Prompt or Resource for the methods those rules match by target, Method
// for every other method.
func KindOf(method string) Kind {
	k, _ := kindOf(method)
	return k
}

// kindOf returns the kind whose rules match the target of method, if any.
func kindOf(method string) (Kind, bool) {
	switch method {
	case "tools/call":
		return Tool, true
	case "prompts/get":
		return Prompt, true
	case "resources/read", "resources/subscribe":
		return Resource, true
	}
	return Method, false
}

// Rule is one configured rule: messages whose name (for Method rules: the
// method) matches Pattern need Scopes, on top of the route's OAuth scopes.
type Rule struct {
	// Kind says which messages the rule applies to and what Pattern is
	// matched against.
	Kind Kind
	// Pattern is an exact name, or one in which each '*' stands for any run
	// of characters (the empty run included).
	Pattern string
	// Scopes are the OAuth scope values the rule requires; at least one.
	Scopes []string
	// Path names the argument an Argument rule reads: member names of
	// params.arguments joined by '.'. Only for Argument rules.
	Path string
	// Value is the pattern an Argument rule matches the argument's value
	// against: strings as they are, integers in decimal, booleans as true
	// or false. Only for Argument rules.
	Value string
}

// rule is a Rule with its pattern compiled.
type rule struct {
	pattern pattern
	scopes  []string
}

// RuleSet is a compiled set of rules with the route's OAuth scopes, built
// once at config time and safe for concurrent use. Looking up the scopes
// of an operation does not allocate: every combination of a method rule and
// a rule of a kind is merged in advance.
type RuleSet struct {
	route   []string
	methods []rule
	byKind  [targetKinds][]rule
	// withMethod[i] is route + methods[i-1] (i == 0: no method rule).
	withMethod [][]string
	// combined[k][i*(len(byKind[k])+1)+j] is withMethod[i] + byKind[k][j-1].
	combined  [targetKinds][][]string
	arguments []argumentRule
	all       []string
}

// NewRuleSet checks and compiles the route's OAuth scopes and rules, which
// keep their configured order. An error names the bad rule or value: an
// empty pattern, a rule without a scope, or a scope value that CheckScope
// refuses.
func NewRuleSet(routeScopes []string, rules []Rule) (*RuleSet, error) {
	for _, s := range routeScopes {
		if err := CheckScope(s); err != nil {
			return nil, fmt.Errorf("oauth_scopes: %w", err)
		}
	}
	rs := &RuleSet{route: merge(nil, routeScopes)}
	rs.all = rs.route
	for _, r := range rules {
		if r.Kind > Argument {
			return nil, fmt.Errorf("rule %q: unknown kind %d", r.Pattern, uint8(r.Kind))
		}
		if r.Pattern == "" {
			return nil, fmt.Errorf("%s rule: empty pattern", r.Kind)
		}
		if len(r.Scopes) == 0 {
			return nil, fmt.Errorf("%s rule %q: no scope", r.Kind, r.Pattern)
		}
		for _, s := range r.Scopes {
			if err := CheckScope(s); err != nil {
				return nil, fmt.Errorf("%s rule %q: %w", r.Kind, r.Pattern, err)
			}
		}
		compiled := rule{pattern: compilePattern(r.Pattern), scopes: merge(nil, r.Scopes)}
		switch r.Kind {
		case Argument:
			arg, err := compileArgumentRule(r)
			if err != nil {
				return nil, err
			}
			rs.arguments = append(rs.arguments, arg)
		case Method:
			rs.methods = append(rs.methods, compiled)
		default:
			rs.byKind[r.Kind] = append(rs.byKind[r.Kind], compiled)
		}
		rs.all = merge(rs.all, r.Scopes)
	}
	rs.withMethod = make([][]string, len(rs.methods)+1)
	rs.withMethod[0] = rs.route
	for i, m := range rs.methods {
		rs.withMethod[i+1] = merge(rs.route, m.scopes)
	}
	for k, kindRules := range rs.byKind {
		table := make([][]string, 0, len(rs.withMethod)*(len(kindRules)+1))
		for _, base := range rs.withMethod {
			table = append(table, base)
			for _, r := range kindRules {
				table = append(table, merge(base, r.scopes))
			}
		}
		rs.combined[k] = table
	}
	return rs, nil
}

// merge returns base followed by the values of more that base does not
// hold yet, in order. It returns base itself when more adds nothing, and a
// new slice otherwise, so slices handed out are never appended to.
func merge(base, more []string) []string {
	out := base
	copied := false
	for _, s := range more {
		if slices.Contains(out, s) {
			continue
		}
		if !copied {
			out = slices.Clip(slices.Clone(out))
			copied = true
		}
		out = append(out, s)
	}
	return slices.Clip(out)
}

// HasRules reports whether any rule is configured: only then does the
// handler read request bodies.
func (rs *RuleSet) HasRules() bool {
	return len(rs.methods) > 0 || len(rs.arguments) > 0 || rs.Has(Tool) || rs.Has(Prompt) || rs.Has(Resource)
}

// Has reports whether a rule of kind k is configured. Argument rules do
// not filter listings, so listings look at the other kinds only.
func (rs *RuleSet) Has(k Kind) bool {
	switch k {
	case Method:
		return len(rs.methods) > 0
	case Argument:
		return len(rs.arguments) > 0
	}
	return k < targetKinds && len(rs.byKind[k]) > 0
}

// AllScopes returns the route's OAuth scopes and every scope a rule names,
// in configured order, without duplicates: the scopes_supported of the
// protected-resource metadata. The caller must not modify the slice.
func (rs *RuleSet) AllScopes() []string {
	return rs.all
}

// ScopesFor returns the scopes of the operation that calls method on
// target (the params.name or params.uri of the message): the route's
// scopes, then those of the first method rule that matches method, then
// those of the first rule of the method's own kind that matches target,
// without duplicates. The caller must not modify the slice.
func (rs *RuleSet) ScopesFor(method, target string) []string {
	i := 0
	for n, r := range rs.methods {
		if r.pattern.match(method) {
			i = n + 1
			break
		}
	}
	k, ok := kindOf(method)
	if !ok {
		return rs.withMethod[i]
	}
	kindRules := rs.byKind[k]
	j := 0
	for n, r := range kindRules {
		if r.pattern.match(target) {
			j = n + 1
			break
		}
	}
	return rs.combined[k][i*(len(kindRules)+1)+j]
}
