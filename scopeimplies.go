package mcpjweauth

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/mcpauthz"
)

// unmarshalScopeImplies reads `oauth_scope_implies <scope> <implied>...`.
// Lines for one scope add up. A bad value, an implied scope given twice
// and a line that closes a cycle are refused at the line.
func (h *Handler) unmarshalScopeImplies(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) < 2 {
		return d.ArgErr()
	}
	if h.OAuthScopeImplies == nil {
		h.OAuthScopeImplies = make(map[string][]string)
	}
	h.OAuthScopeImplies[args[0]] = append(h.OAuthScopeImplies[args[0]], args[1:]...)
	return checked(d, checkScopeImplies(h.OAuthScopeImplies))
}

// checkScopeImplies checks oauth_scope_implies: every scope an OAuth scope
// value, each scope implying at least one other, none listed twice for one
// scope, and no cycle. The error names the scopes.
func checkScopeImplies(implies map[string][]string) error {
	for _, scope := range slices.Sorted(maps.Keys(implies)) {
		if err := mcpauthz.CheckScope(scope); err != nil {
			return fmt.Errorf("oauth_scope_implies: %v", err)
		}
		implied := implies[scope]
		if len(implied) == 0 {
			return fmt.Errorf("oauth_scope_implies: '%s' implies no scope", scope)
		}
		for i, s := range implied {
			if err := mcpauthz.CheckScope(s); err != nil {
				return fmt.Errorf("oauth_scope_implies %s: %v", scope, err)
			}
			if slices.Contains(implied[:i], s) {
				return fmt.Errorf("oauth_scope_implies %s: '%s' is listed twice", scope, s)
			}
		}
	}
	if cycle := scopeCycle(implies); cycle != nil {
		return fmt.Errorf("oauth_scope_implies: the scopes imply each other in a cycle (%s): a scope hierarchy has no cycles",
			strings.Join(cycle, " -> "))
	}
	return nil
}

// scopeCycle returns a cycle of implies as the scopes along it, the first
// one last again (a -> b -> a), or nil when there is none. Scopes are
// visited in sorted order, so the cycle named is always the same one.
func scopeCycle(implies map[string][]string) []string {
	const (
		unvisited = iota
		onPath
		done
	)
	state := make(map[string]int, len(implies))
	var path []string
	var visit func(scope string) []string
	visit = func(scope string) []string {
		state[scope] = onPath
		path = append(path, scope)
		for _, next := range implies[scope] {
			switch state[next] {
			case onPath:
				start := slices.Index(path, next)
				return append(slices.Clone(path[start:]), next)
			case unvisited:
				if cycle := visit(next); cycle != nil {
					return cycle
				}
			}
		}
		path = path[:len(path)-1]
		state[scope] = done
		return nil
	}
	for _, scope := range slices.Sorted(maps.Keys(implies)) {
		if state[scope] == unvisited {
			if cycle := visit(scope); cycle != nil {
				return cycle
			}
		}
	}
	return nil
}

// impliedScopes computes, once at Provision, every scope each scope of
// implies grants besides itself: the ones it implies and, in turn, the
// ones those imply. It is nil when nothing is configured.
func impliedScopes(implies map[string][]string) map[string][]string {
	if len(implies) == 0 {
		return nil
	}
	closure := make(map[string][]string, len(implies))
	for scope := range implies {
		var all []string
		queue := slices.Clone(implies[scope])
		for len(queue) > 0 {
			next := queue[0]
			queue = queue[1:]
			if next == scope || slices.Contains(all, next) {
				continue // a cycle, which Validate refuses, still ends
			}
			all = append(all, next)
			queue = append(queue, implies[next]...)
		}
		closure[scope] = all
	}
	return closure
}

// withImplied returns granted together with every scope its scopes imply
// (see impliedScopes), each once; granted itself when none adds a scope.
func withImplied(granted []string, implied map[string][]string) []string {
	out, copied := granted, false
	for _, scope := range granted {
		for _, s := range implied[scope] {
			if slices.Contains(out, s) {
				continue
			}
			if !copied {
				out, copied = slices.Clone(granted), true
			}
			out = append(out, s)
		}
	}
	return out
}
