package josetest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// SentinelNames reads the Go file at path and returns the names of its
// package-level Err* variables, in the order they are declared.
func SentinelNames(t testing.TB, path string) []string {
	t.Helper()
	var names []string
	for _, s := range sentinels(t, path) {
		names = append(names, s.name)
	}
	return names
}

// SentinelTexts reads the Go file at path and returns its package-level
// Err* variables by name, each with its text: the string literal given to
// errors.New. A sentinel made any other way fails the test, so a new one
// cannot go unnoticed.
func SentinelTexts(t testing.TB, path string) map[string]string {
	t.Helper()
	texts := map[string]string{}
	for _, s := range sentinels(t, path) {
		text, ok := errorsNewText(s.value)
		if !ok {
			t.Fatalf("%s: %s is not errors.New of a string literal", path, s.name)
		}
		texts[s.name] = text
	}
	return texts
}

// sentinel is one package-level Err* variable and the expression it is
// set to (nil when it has none).
type sentinel struct {
	name  string
	value ast.Expr
}

// sentinels are the package-level Err* variables of the Go file at path.
func sentinels(t testing.TB, path string) []sentinel {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var found []sentinel
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.VAR {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Err") {
					continue
				}
				s := sentinel{name: name.Name}
				if i < len(vs.Values) {
					s.value = vs.Values[i]
				}
				found = append(found, s)
			}
		}
	}
	return found
}

// errorsNewText is the string literal of value when value is
// errors.New("...").
func errorsNewText(value ast.Expr) (string, bool) {
	call, ok := value.(*ast.CallExpr)
	if !ok || len(call.Args) != 1 {
		return "", false
	}
	if fun, ok := call.Fun.(*ast.SelectorExpr); !ok || fun.Sel.Name != "New" {
		return "", false
	}
	lit, ok := call.Args[0].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	text, err := strconv.Unquote(lit.Value)
	return text, err == nil
}
