package integration

import (
	"debug/buildinfo"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// jwxModule is the JOSE library the module decrypts and verifies with.
const jwxModule = "github.com/lestrrat-go/jwx/v2"

// jwxAdvisories are the published security advisories of jwx v2 and the
// release that fixed each (docs/security.md lists them with their sources).
var jwxAdvisories = []struct {
	id, cve, summary, fixed string
}{
	{"GHSA-rm8v-mxj3-5rmq", "", "AES-CBC padding oracle in JWE decryption", "v2.0.11"},
	{"GHSA-7f9x-gw85-8grf", "CVE-2023-49290", "PBES2 p2c iteration count: denial of service", "v2.0.18"},
	{"GHSA-pvcr-v8j8-j5q3", "CVE-2024-21664", "nil-pointer dereference parsing JSON-serialised JWS without protected header", "v2.0.19"},
	{"GHSA-hj3v-m684-v259", "CVE-2024-28122", "decompression bomb in compressed (zip) JWE", "v2.0.21"},
}

// TestJWXVersionAboveAdvisories pins the jwx version the module is built
// with at or above the newest advisory fix, so a downgrade fails the tests;
// and keeps docs/security.md in step with the list. The version is read
// from build info: the test binary's own (Go leaves the dependencies out
// of a test binary's build info, so this is usually empty) and the custom
// Caddy's that `make test` builds first (CADDY_BIN); and from the module
// graph the build uses (`go list -m`). Every source must pass.
func TestJWXVersionAboveAdvisories(t *testing.T) {
	versions := map[string]string{} // source → version
	if info, ok := debug.ReadBuildInfo(); ok {
		if v := depVersion(info); v != "" {
			versions["test binary build info"] = v
		}
	}
	if bin := os.Getenv("CADDY_BIN"); bin != "" {
		if info, err := buildinfo.ReadFile(bin); err == nil {
			versions[bin+" build info"] = depVersion(info)
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("reading the build info of %s: %v", bin, err)
		}
	}
	// The module graph too, so a downgraded go.mod fails even before the
	// custom Caddy is rebuilt.
	out, err := exec.Command("go", "list", "-m", "-f", "{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}", jwxModule).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", jwxModule, err)
	}
	versions["go list -m"] = strings.TrimSpace(string(out))
	for source, version := range versions {
		if version == "" {
			t.Errorf("%s: %s is not a dependency: is it still the JOSE library?", source, jwxModule)
			continue
		}
		for _, adv := range jwxAdvisories {
			if compareSemver(version, adv.fixed) < 0 {
				t.Errorf("%s: %s %s is affected by %s (%s): upgrade to %s or later", source, jwxModule, version, adv.id, adv.summary, adv.fixed)
			}
		}
		t.Logf("%s: %s %s", source, jwxModule, version)
	}
	doc, err := os.ReadFile(filepath.Join("..", "docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, adv := range jwxAdvisories {
		if !strings.Contains(string(doc), adv.id) || !strings.Contains(string(doc), adv.fixed) || (adv.cve != "" && !strings.Contains(string(doc), adv.cve)) {
			t.Errorf("docs/security.md does not list %s %s (fixed in %s)", adv.id, adv.cve, adv.fixed)
		}
	}
}

// depVersion is the version of jwx in info ("" when it is not there).
func depVersion(info *debug.BuildInfo) string {
	for _, dep := range info.Deps {
		if dep.Path == jwxModule {
			if dep.Replace != nil {
				return dep.Replace.Version
			}
			return dep.Version
		}
	}
	return ""
}

func TestCompareSemver(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"v2.1.7", "v2.0.21", 1},
		{"v2.0.21", "v2.0.21", 0},
		{"v2.0.20", "v2.0.21", -1},
		{"v2.0.9", "v2.0.11", -1},
		{"v3.0.0", "v2.9.9", 1},
		{"v2.0.21-rc1", "v2.0.21", -1},
		{"v2.0.22-0.20240101000000-abcdef123456", "v2.0.21", 1},
		{"v2.0.21+incompatible", "v2.0.21", 0},
		{"(devel)", "v2.0.21", -1},
	} {
		if got := compareSemver(tc.a, tc.b); got != tc.want {
			t.Errorf("compareSemver(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// compareSemver compares two module versions (vMAJOR.MINOR.PATCH with an
// optional pre-release, which sorts before its release): -1, 0 or 1.
// Anything that is not such a version sorts before every version.
func compareSemver(a, b string) int {
	pa, okA := parseSemver(a)
	pb, okB := parseSemver(b)
	switch {
	case !okA && !okB:
		return 0
	case !okA:
		return -1
	case !okB:
		return 1
	}
	for i := 0; i < 3; i++ {
		if pa.nums[i] != pb.nums[i] {
			if pa.nums[i] < pb.nums[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case pa.pre == pb.pre:
		return 0
	case pa.pre == "":
		return 1
	case pb.pre == "":
		return -1
	case pa.pre < pb.pre:
		return -1
	}
	return 1
}

// semver is a parsed module version.
type semver struct {
	nums [3]int
	pre  string
}

func parseSemver(v string) (semver, bool) {
	var s semver
	if !strings.HasPrefix(v, "v") {
		return s, false
	}
	v, _, _ = strings.Cut(v[1:], "+")
	v, s.pre, _ = strings.Cut(v, "-")
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return s, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return s, false
		}
		s.nums[i] = n
	}
	return s, true
}
