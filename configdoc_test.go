package mcpjweauth

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// updateConfigDoc makes TestConfigDoc rewrite docs/config.md.
var updateConfigDoc = flag.Bool("update", false, "rewrite docs/config.md from the doc comments of Handler (TestConfigDoc)")

// configDocPath is the generated JSON config reference.
const configDocPath = "docs/config.md"

// configField is one exported field of Handler as the reference shows it.
type configField struct {
	goName, jsonName, typ, doc string
}

// handlerDecl finds the declaration of the Handler struct among the
// package's non-test Go files and returns its doc comment and fields.
func handlerDecl(t *testing.T) (*ast.CommentGroup, *ast.StructType) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatalf("parsing %s: %v", name, err)
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.TYPE {
				continue
			}
			for _, spec := range gen.Specs {
				ts := spec.(*ast.TypeSpec)
				if ts.Name.Name != "Handler" {
					continue
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					t.Fatalf("%s: Handler is not a struct", name)
				}
				doc := ts.Doc
				if doc == nil {
					doc = gen.Doc
				}
				return doc, st
			}
		}
	}
	t.Fatal("no Handler type found")
	return nil, nil
}

// configFields returns the exported fields of Handler in declaration order,
// and a problem for each that lacks a doc comment or a json tag.
func configFields(st *ast.StructType) (fields []configField, problems []string) {
	for _, f := range st.Fields.List {
		if len(f.Names) == 0 {
			problems = append(problems, fmt.Sprintf("embedded field %s: the reference cannot describe it", types.ExprString(f.Type)))
			continue
		}
		for _, name := range f.Names {
			if !name.IsExported() {
				continue
			}
			field := configField{goName: name.Name, typ: jsonType(f.Type)}
			if f.Doc != nil {
				field.doc = strings.TrimSpace(f.Doc.Text())
			}
			if field.doc == "" {
				problems = append(problems, fmt.Sprintf("field %s has no doc comment", name.Name))
			}
			if f.Tag != nil {
				tag := reflect.StructTag(strings.Trim(f.Tag.Value, "`"))
				field.jsonName, _, _ = strings.Cut(tag.Get("json"), ",")
			}
			if field.jsonName == "" || field.jsonName == "-" {
				problems = append(problems, fmt.Sprintf("field %s has no json tag", name.Name))
			}
			if typ, ok := jsonTypeOverrides[field.jsonName]; ok {
				field.typ = typ
			}
			fields = append(fields, field)
		}
	}
	return fields, problems
}

// jsonTypeOverrides describe the fields whose Go type does not say how they
// are written in JSON: a string that holds a duration (never a number of
// nanoseconds, which a duration field also takes) or "off".
var jsonTypeOverrides = map[string]string{
	"key_reload": "string: a duration such as `\"10s\"`, or `\"off\"`",
}

// jsonType describes how a field of Go type expr is written in JSON.
func jsonType(expr ast.Expr) string {
	switch e := expr.(type) {
	case *ast.StarExpr:
		return jsonType(e.X)
	case *ast.ArrayType:
		return "array of " + plural(jsonType(e.Elt))
	case *ast.MapType:
		return "object: " + jsonType(e.Key) + " → " + jsonType(e.Value)
	}
	switch name := types.ExprString(expr); name {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "uint", "uint64":
		return "integer"
	case "caddy.Duration":
		return "duration"
	default:
		return name
	}
}

// plural makes a simple type name plural.
func plural(name string) string {
	if strings.Contains(name, " ") {
		return name
	}
	return name + "s"
}

// renderDoc returns the text of a doc comment as Markdown. The comments are
// written as Markdown already (as Caddy's module documentation reads them),
// so their text is kept as it is, except that a '<' outside a code span is
// escaped, so that "<path>" is shown rather than taken for an HTML tag.
func renderDoc(text string) string {
	var b strings.Builder
	inCode := false
	for _, r := range strings.TrimSpace(text) {
		switch {
		case r == '`':
			inCode = !inCode
		case r == '\n':
			inCode = false
		case r == '<' && !inCode:
			b.WriteString("&lt;")
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// configDoc renders the JSON config reference.
func configDoc(typeDoc string, fields []configField) []byte {
	var b bytes.Buffer
	b.WriteString(`# JSON config reference: ` + "`http.handlers.mcp_jwe_auth`" + `

<!-- Generated from the doc comments of the Handler struct by
     ` + "`go test -run ConfigDoc -update`" + `; do not edit by hand. -->

The fields of the handler in Caddy's JSON config. Each has the name of its
Caddyfile subdirective (see the [README](../README.md#caddyfile)); a route
turned ` + "`off`" + ` in the Caddyfile is the string ` + "`\"off\"`" + ` here, and an unset field is
left out. A duration is a Go duration string such as ` + "`\"30s\"`" + ` or ` + "`\"15m\"`" + `
(Caddy also accepts ` + "`d`" + ` for days), or an integer number of nanoseconds.

A minimal handler inside a route:

` + "```json" + `
{
  "handler": "mcp_jwe_auth",
  "key_file": "/etc/mcp-keys/mcp-private.json",
  "scopes": ["name", "email"],
  "allow_unsigned": true
}
` + "```" + `

## The handler

`)
	b.WriteString(renderDoc(typeDoc))
	b.WriteString("\n\n## Fields\n\n| Field | Type |\n|---|---|\n")
	for _, f := range fields {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s |\n", f.jsonName, f.jsonName, f.typ)
	}
	for _, f := range fields {
		fmt.Fprintf(&b, "\n### `%s`\n\nType: %s\n\n%s\n", f.jsonName, f.typ, renderDoc(f.doc))
	}
	return b.Bytes()
}

// TestConfigDoc checks that every exported field of Handler is documented
// and tagged, and that docs/config.md is what the doc comments produce.
// Run `go test -run ConfigDoc -update` to rewrite it.
func TestConfigDoc(t *testing.T) {
	typeDoc, st := handlerDecl(t)
	if typeDoc == nil {
		t.Fatal("Handler has no doc comment")
	}
	fields, problems := configFields(st)
	for _, p := range problems {
		t.Errorf("Handler: %s", p)
	}
	if len(problems) > 0 {
		t.FailNow()
	}
	var names []string
	for _, f := range fields {
		if slices.Contains(names, f.jsonName) {
			t.Errorf("Handler: json name %q is used twice", f.jsonName)
		}
		names = append(names, f.jsonName)
	}
	want := configDoc(typeDoc.Text(), fields)
	if *updateConfigDoc {
		if err := os.MkdirAll(filepath.Dir(configDocPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(configDocPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(configDocPath)
	if err != nil {
		t.Fatalf("%v: run `go test -run ConfigDoc -update` to write it", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what the doc comments of Handler produce: run `go test -run ConfigDoc -update` and commit the result", configDocPath)
	}
}

// TestConfigDocFindsProblems checks the checks of TestConfigDoc on a
// struct with an undocumented and an untagged field.
func TestConfigDocFindsProblems(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", "package x\ntype H struct {\n"+
		"\t// Documented.\n\tA string `json:\"a,omitempty\"`\n"+
		"\tB int `json:\"b\"`\n"+
		"\t// No tag.\n\tC bool\n"+
		"\t// Hidden.\n\tD bool `json:\"-\"`\n"+
		"\tunexported int\n}\n", parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	st := f.Decls[0].(*ast.GenDecl).Specs[0].(*ast.TypeSpec).Type.(*ast.StructType)
	fields, problems := configFields(st)
	want := []string{"field B has no doc comment", "field C has no json tag", "field D has no json tag"}
	if !slices.Equal(problems, want) {
		t.Errorf("problems %q, want %q", problems, want)
	}
	if len(fields) != 4 || fields[0].jsonName != "a" || fields[0].typ != "string" || fields[0].doc != "Documented." {
		t.Errorf("fields %+v", fields)
	}
	if got, want := renderDoc("`<a>` <b>\n<c> `x"), "`<a>` &lt;b>\n&lt;c> `x"; got != want {
		t.Errorf("renderDoc = %q, want %q", got, want)
	}
}

// operationsGuidePath is the operator's guide, whose Logs table lists
// every message the handler logs.
const operationsGuidePath = "docs/operations.md"

// logMessage is one message the handler logs, at its level.
type logMessage struct {
	level, text string
}

// codeLogMessages finds the messages the non-test Go files of the handler
// and of the token core (which logs to the handler's logger) log: the
// literal first argument of Warn, Info, Error and Debug calls and of
// logDebug, and the literal message of logger.Check.
func codeLogMessages(t *testing.T) []logMessage {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.go", "internal/jose/*.go"} {
		matches, err := filepath.Glob(pattern)
		if err != nil || len(matches) == 0 {
			t.Fatalf("no Go files match %s (%v)", pattern, err)
		}
		files = append(files, matches...)
	}
	var found []logMessage
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatalf("parsing %s: %v", name, err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			level, arg := "", 0
			switch sel.Sel.Name {
			case "Warn", "Info", "Error", "Debug":
				level = strings.ToUpper(sel.Sel.Name)
			case "logDebug":
				level = "DEBUG"
			case "Check":
				if len(call.Args) == 2 {
					if lvl, ok := call.Args[0].(*ast.SelectorExpr); ok {
						level = strings.ToUpper(strings.TrimSuffix(lvl.Sel.Name, "Level"))
						arg = 1
					}
				}
			}
			if level == "" || len(call.Args) <= arg {
				return true
			}
			if lit, ok := call.Args[arg].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				text, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
				}
				found = append(found, logMessage{level, text})
			}
			return true
		})
	}
	return found
}

// guideLogRow matches a row of the guide's Logs table: level, then the
// message in backticks, ending in "..." where the guide shortens it.
var guideLogRow = regexp.MustCompile("^\\| (DEBUG|INFO|WARN|ERROR) \\| `([^`]+)`")

// guideLogMessages reads the Logs table of the operator's guide.
func guideLogMessages(t *testing.T) []logMessage {
	t.Helper()
	data, err := os.ReadFile(operationsGuidePath)
	if err != nil {
		t.Fatal(err)
	}
	var rows []logMessage
	for _, line := range strings.Split(string(data), "\n") {
		if m := guideLogRow.FindStringSubmatch(line); m != nil {
			rows = append(rows, logMessage{m[1], m[2]})
		}
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no Logs table", operationsGuidePath)
	}
	return rows
}

// shortened reports whether a guide's message text matches code's: equal,
// or a prefix of it when the guide ends the text in "...".
func shortened(guide, code string) bool {
	if prefix, ok := strings.CutSuffix(guide, "..."); ok {
		return strings.HasPrefix(code, strings.TrimRight(prefix, " ;,:"))
	}
	return guide == code
}

// TestOperationsGuideLogMessages: every message the guide quotes is logged
// by the code verbatim, at the level the guide gives, and every message the
// code logs is in the guide.
func TestOperationsGuideLogMessages(t *testing.T) {
	code, guide := codeLogMessages(t), guideLogMessages(t)
	matches := func(g, c logMessage) bool { return g.level == c.level && shortened(g.text, c.text) }
	for _, g := range guide {
		if !slices.ContainsFunc(code, func(c logMessage) bool { return matches(g, c) }) {
			t.Errorf("%s quotes %s %q, which the code does not log", operationsGuidePath, g.level, g.text)
		}
	}
	for _, c := range code {
		if !slices.ContainsFunc(guide, func(g logMessage) bool { return matches(g, c) }) {
			t.Errorf("the code logs %s %q, which %s does not list", c.level, c.text, operationsGuidePath)
		}
	}
}
