package josetest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// CorpusDir is where `go test` reads a fuzz target's seed corpus from,
// relative to the package under test.
func CorpusDir(target string) string {
	return filepath.Join("testdata", "fuzz", target)
}

// WriteCorpusFile writes values (string, []byte or bool) as the seed
// corpus file name of target, in Go's corpus file format.
func WriteCorpusFile(t testing.TB, target, name string, values ...any) {
	t.Helper()
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range values {
		switch v := v.(type) {
		case string:
			b.WriteString("string(" + strconv.Quote(v) + ")\n")
		case []byte:
			b.WriteString("[]byte(" + strconv.Quote(string(v)) + ")\n")
		case bool:
			b.WriteString("bool(" + strconv.FormatBool(v) + ")\n")
		default:
			t.Fatalf("unsupported corpus value %T", v)
		}
	}
	dir := CorpusDir(target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ReadCorpus reads the seed corpus of target: each file's name and its
// first value when that is a string ("" otherwise). A missing or empty
// corpus, or a file not in Go's corpus format, fails the test.
func ReadCorpus(t testing.TB, target string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(CorpusDir(target))
	if err != nil || len(entries) == 0 {
		t.Errorf("%s: no seed corpus (%v); run this package's TestFuzzSeedCorpus with -update-fuzz-seeds", target, err)
		return nil
	}
	files := make(map[string]string, len(entries))
	for _, entry := range entries {
		data, err := os.ReadFile(filepath.Join(CorpusDir(target), entry.Name()))
		if err != nil || !bytes.HasPrefix(data, []byte("go test fuzz v1\n")) {
			t.Errorf("%s/%s is not a corpus file (%v)", target, entry.Name(), err)
			continue
		}
		files[entry.Name()] = ""
		lines := strings.SplitN(strings.TrimSpace(string(data)), "\n", 3)
		if len(lines) < 2 || !strings.HasPrefix(lines[1], "string(") {
			continue
		}
		first, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			t.Errorf("%s/%s: %v", target, entry.Name(), err)
			continue
		}
		files[entry.Name()] = first
	}
	return files
}
