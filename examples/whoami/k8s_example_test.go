package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// k8sExample is the manifest this test checks, relative to this package.
const k8sExample = "../k8s-deployment.yaml"

// The parts of the Kubernetes objects the test reads; everything else in the
// manifest is ignored.
type (
	k8sObject struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Type string            `json:"type"`
		Data map[string]string `json:"data"`
		Spec json.RawMessage   `json:"spec"`
	}
	deploymentSpec struct {
		Template struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec podSpec `json:"spec"`
		} `json:"template"`
	}
	podSpec struct {
		SecurityContext struct {
			RunAsNonRoot *bool `json:"runAsNonRoot"`
		} `json:"securityContext"`
		Containers []container `json:"containers"`
		Volumes    []volume    `json:"volumes"`
	}
	container struct {
		Name    string   `json:"name"`
		Image   string   `json:"image"`
		Command []string `json:"command"`
		Args    []string `json:"args"`
		Ports   []struct {
			Name          string `json:"name"`
			ContainerPort int    `json:"containerPort"`
		} `json:"ports"`
		Env []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"env"`
		VolumeMounts []struct {
			Name      string `json:"name"`
			MountPath string `json:"mountPath"`
			ReadOnly  bool   `json:"readOnly"`
		} `json:"volumeMounts"`
		ReadinessProbe *struct {
			HTTPGet *struct {
				Path string `json:"path"`
				Port any    `json:"port"`
			} `json:"httpGet"`
		} `json:"readinessProbe"`
		Resources struct {
			Limits map[string]string `json:"limits"`
		} `json:"resources"`
		SecurityContext struct {
			ReadOnlyRootFilesystem   *bool `json:"readOnlyRootFilesystem"`
			AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation"`
		} `json:"securityContext"`
	}
	volume struct {
		Name   string `json:"name"`
		Secret *struct {
			SecretName string `json:"secretName"`
			Items      []struct {
				Key  string `json:"key"`
				Path string `json:"path"`
			} `json:"items"`
		} `json:"secret"`
		ConfigMap *struct {
			Name string `json:"name"`
		} `json:"configMap"`
	}
	serviceSpec struct {
		Selector map[string]string `json:"selector"`
		Ports    []struct {
			Port       int `json:"port"`
			TargetPort any `json:"targetPort"`
		} `json:"ports"`
	}
)

// env returns the value of the environment variable name in c.
func (c container) env(name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// mountOf returns the mount path of the volume named vol in c, and whether
// it is read-only.
func (c container) mountOf(vol string) (mountPath string, readOnly, ok bool) {
	for _, m := range c.VolumeMounts {
		if m.Name == vol {
			return m.MountPath, m.ReadOnly, true
		}
	}
	return "", false, false
}

// portMatches reports whether port (a number or a name, as in a Service's
// targetPort or a probe's port) names one of c's container ports.
func (c container) portMatches(port any) bool {
	for _, p := range c.Ports {
		switch v := port.(type) {
		case string:
			if v == p.Name {
				return true
			}
		case float64:
			if int(v) == p.ContainerPort {
				return true
			}
		}
	}
	return false
}

// flagValue returns the argument after flag in args.
func flagValue(args []string, flag string) (string, bool) {
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		return "", false
	}
	return args[i+1], true
}

// parsedExample is the manifest's objects, one of each kind.
type parsedExample struct {
	configMap  k8sObject
	deployment deploymentSpec
	service    serviceSpec
	caddy      container
	whoami     container
}

// parseK8sExample reads and parses the manifest, one YAML document at a time.
func parseK8sExample(t *testing.T) parsedExample {
	t.Helper()
	raw, err := os.ReadFile(k8sExample)
	if err != nil {
		t.Fatal(err)
	}
	var p parsedExample
	kinds := map[string]int{}
	for i, doc := range strings.Split(string(raw), "\n---\n") {
		// Give back the line end the split took, or the last block scalar
		// of the document would lose its final newline.
		doc += "\n"
		var obj k8sObject
		if err := yaml.UnmarshalStrict([]byte(doc), new(any)); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		kinds[obj.Kind]++
		// A namespace here would make `kubectl apply -n other` fail.
		if obj.Metadata.Namespace != "" {
			t.Errorf("document %d (%s) names namespace %q; leave it to kubectl apply -n", i, obj.Kind, obj.Metadata.Namespace)
		}
		var spec any
		switch obj.Kind {
		case "ConfigMap":
			p.configMap = obj
		case "Deployment":
			spec = &p.deployment
		case "Service":
			spec = &p.service
		default:
			t.Fatalf("document %d: unexpected kind %q", i, obj.Kind)
		}
		if spec != nil {
			if err := json.Unmarshal(obj.Spec, spec); err != nil {
				t.Fatalf("document %d (%s): %v", i, obj.Kind, err)
			}
		}
	}
	if want := map[string]int{"ConfigMap": 1, "Deployment": 1, "Service": 1}; !maps.Equal(kinds, want) {
		t.Fatalf("kinds = %v, want %v", kinds, want)
	}
	for _, c := range p.deployment.Template.Spec.Containers {
		switch c.Name {
		case "caddy":
			p.caddy = c
		case "whoami":
			p.whoami = c
		default:
			t.Fatalf("unexpected container %q", c.Name)
		}
	}
	if p.caddy.Name == "" || p.whoami.Name == "" {
		t.Fatal("the Deployment needs the containers caddy and whoami")
	}
	return p
}

// k8sSecret runs `caddy mcp-keys k8s` with its defaults on a fresh key pair
// and returns the Secret it prints and the private key file it holds.
func k8sSecret(t *testing.T) (secret k8sObject, privateKey []byte) {
	t.Helper()
	caddy := caddyBinary(t)
	keys := filepath.Join(t.TempDir(), "keys")
	runCommand(t, caddy, "mcp-keys", "generate", "-o", keys, "--size", "2048")
	out := runCommand(t, caddy, "mcp-keys", "k8s", "-o", keys)
	if err := yaml.UnmarshalStrict([]byte(out), &secret); err != nil {
		t.Fatalf("caddy mcp-keys k8s printed no Secret: %v", err)
	}
	if secret.APIVersion != "v1" || secret.Kind != "Secret" || secret.Type != "Opaque" {
		t.Fatalf("caddy mcp-keys k8s printed %s %s of type %q, want a v1 Secret of type Opaque", secret.APIVersion, secret.Kind, secret.Type)
	}
	privateKey, err := os.ReadFile(filepath.Join(keys, "mcp-private.json"))
	if err != nil {
		t.Fatal(err)
	}
	return secret, privateKey
}

// keyVolume returns the manifest's one Secret volume.
func keyVolume(t *testing.T, p parsedExample) volume {
	t.Helper()
	var secretVolumes []volume
	for _, v := range p.deployment.Template.Spec.Volumes {
		if v.Secret != nil {
			secretVolumes = append(secretVolumes, v)
		}
	}
	if len(secretVolumes) != 1 {
		t.Fatalf("%d Secret volumes, want 1", len(secretVolumes))
	}
	vol := secretVolumes[0]
	if len(vol.Secret.Items) != 1 {
		t.Fatalf("items = %+v, want the one key of the Secret", vol.Secret.Items)
	}
	return vol
}

func TestK8sExampleKeySecret(t *testing.T) {
	p := parseK8sExample(t)
	vol := keyVolume(t, p)
	secret, privateKey := k8sSecret(t)
	if vol.Secret.SecretName != secret.Metadata.Name {
		t.Errorf("secretName = %q, but caddy mcp-keys k8s prints the Secret %q", vol.Secret.SecretName, secret.Metadata.Name)
	}
	item := vol.Secret.Items[0]
	if item.Key != "mcp_jwks" || !slices.Equal(slices.Sorted(maps.Keys(secret.Data)), []string{item.Key}) {
		t.Errorf("the volume mounts key %q; caddy mcp-keys k8s prints the keys %v; want mcp_jwks", item.Key, slices.Sorted(maps.Keys(secret.Data)))
	}
	if data, err := base64.StdEncoding.DecodeString(secret.Data[item.Key]); err != nil || !bytes.Equal(data, privateKey) {
		t.Errorf("data.%s is not the private key file (%v)", item.Key, err)
	}
	mountPath, readOnly, ok := p.caddy.mountOf(vol.Name)
	if !ok {
		t.Fatalf("caddy does not mount volume %q", vol.Name)
	}
	if !readOnly {
		t.Errorf("the key volume is mounted read-write")
	}
	if _, _, ok := p.whoami.mountOf(vol.Name); ok {
		t.Errorf("the MCP server mounts the private key too")
	}
	keyFile, ok := p.caddy.env("MCP_KEY_FILE_PATH")
	if !ok {
		t.Fatal("caddy has no MCP_KEY_FILE_PATH")
	}
	if got := path.Join(mountPath, item.Path); got != keyFile {
		t.Errorf("mounted key file %s, but MCP_KEY_FILE_PATH=%s", got, keyFile)
	}
}

// TestK8sExampleLoadsTheSecret has the real Caddy validate the ConfigMap's
// Caddyfile with the key file as the pod would see it: the Secret's mounted
// item, named by MCP_KEY_FILE_PATH. Validation provisions the handler, which
// loads the key.
func TestK8sExampleLoadsTheSecret(t *testing.T) {
	p := parseK8sExample(t)
	item := keyVolume(t, p).Secret.Items[0]
	secret, _ := k8sSecret(t)
	data, err := base64.StdEncoding.DecodeString(secret.Data[item.Key])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, filepath.FromSlash(item.Path))
	caddyfile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(keyFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caddyfile, []byte(k8sCaddyfile(t, p)), 0o600); err != nil {
		t.Fatal(err)
	}
	validate := func() ([]byte, error) {
		cmd := exec.Command(caddyBinary(t), "validate", "--config", caddyfile, "--adapter", "caddyfile")
		cmd.Env = append(os.Environ(), "MCP_KEY_FILE_PATH="+keyFile,
			"XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))
		return cmd.CombinedOutput()
	}
	if out, err := validate(); err != nil {
		t.Fatalf("caddy validate with the Secret's key: %v\n%s", err, out)
	}
	// Without the key the same config must not validate, or the check above
	// proved nothing about the key.
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	if out, err := validate(); err == nil {
		t.Fatalf("caddy validate passed without the key file:\n%s", out)
	}
}

func TestK8sExampleNetworking(t *testing.T) {
	p := parseK8sExample(t)
	if len(p.whoami.Ports) != 0 {
		t.Errorf("the MCP server exposes ports %+v", p.whoami.Ports)
	}
	listen, ok := flagValue(p.whoami.Args, "-listen")
	if !ok {
		t.Fatalf("whoami args %q set no -listen", p.whoami.Args)
	}
	if err := checkLoopback(listen); err != nil {
		t.Errorf("whoami: %v", err)
	}
	if len(p.caddy.Ports) != 1 || p.caddy.Ports[0].ContainerPort != 8080 {
		t.Errorf("caddy ports = %+v, want 8080 only", p.caddy.Ports)
	}
	if len(p.service.Ports) == 0 {
		t.Fatal("the Service has no ports")
	}
	for _, sp := range p.service.Ports {
		if !p.caddy.portMatches(sp.TargetPort) {
			t.Errorf("Service port %d targets %v, not Caddy's port", sp.Port, sp.TargetPort)
		}
	}
	for k, v := range p.service.Selector {
		if p.deployment.Template.Metadata.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not match the pod labels %v", k, v, p.deployment.Template.Metadata.Labels)
		}
	}
	probe := p.caddy.ReadinessProbe
	if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != "/.well-known/oauth-protected-resource" || !p.caddy.portMatches(probe.HTTPGet.Port) {
		t.Errorf("caddy readiness probe = %+v, want GET /.well-known/oauth-protected-resource on Caddy's port", probe)
	}
}

func TestK8sExampleHardening(t *testing.T) {
	p := parseK8sExample(t)
	pod := p.deployment.Template.Spec
	if pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("the pod does not set runAsNonRoot: true")
	}
	for _, c := range pod.Containers {
		if c.Resources.Limits["cpu"] == "" || c.Resources.Limits["memory"] == "" {
			t.Errorf("%s: no cpu and memory limits", c.Name)
		}
		if sc := c.SecurityContext; sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: want readOnlyRootFilesystem: true and allowPrivilegeEscalation: false", c.Name)
		}
	}
}

// k8sCaddyfile returns the Caddyfile the Deployment gives Caddy, checking that
// Caddy's --config names a key of the ConfigMap mounted where it points.
func k8sCaddyfile(t *testing.T, p parsedExample) string {
	t.Helper()
	config, ok := flagValue(p.caddy.Args, "--config")
	if !ok {
		t.Fatalf("caddy args %q set no --config", p.caddy.Args)
	}
	if adapter, _ := flagValue(p.caddy.Args, "--adapter"); adapter != "caddyfile" {
		t.Errorf("caddy --adapter = %q, want caddyfile", adapter)
	}
	for _, v := range p.deployment.Template.Spec.Volumes {
		if v.ConfigMap == nil || v.ConfigMap.Name != p.configMap.Metadata.Name {
			continue
		}
		mountPath, _, ok := p.caddy.mountOf(v.Name)
		if !ok || path.Dir(config) != mountPath {
			t.Fatalf("--config %s is not in the ConfigMap's mount %q", config, mountPath)
		}
		caddyfile, ok := p.configMap.Data[path.Base(config)]
		if !ok {
			t.Fatalf("ConfigMap %s has no key %s", p.configMap.Metadata.Name, path.Base(config))
		}
		return caddyfile
	}
	t.Fatalf("no volume holds ConfigMap %s", p.configMap.Metadata.Name)
	return ""
}

func TestK8sExampleCaddyfile(t *testing.T) {
	p := parseK8sExample(t)
	caddyfile := k8sCaddyfile(t, p)
	if _, ok := p.configMap.Data["Caddyfile"]; !ok {
		t.Error("the ConfigMap has no key Caddyfile")
	}
	var lines []string
	for _, l := range strings.Split(caddyfile, "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	// The headers the Caddyfile sets are the ones the MCP server reads by default.
	for _, want := range []string{
		"http://:8080 {",
		"mcp_jwe_auth {",
		"scopes name email",
		"allow_unsigned",
		"claim_header name " + defaultNameHeader,
		"claim_header email " + defaultEmailHeader,
		"claims_header " + defaultClaimsHeader,
		"reverse_proxy " + defaultListen + " {",
		"header_up Host {upstream_hostport}",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("the Caddyfile has no line %q", want)
		}
	}
	if slices.Index(lines, "mcp_jwe_auth {") > slices.Index(lines, "reverse_proxy "+defaultListen+" {") {
		t.Error("mcp_jwe_auth comes after reverse_proxy")
	}

	file := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(file, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	adapted := caddyAdapt(t, file)
	// In the adapted JSON, the handlers must run mcp_jwe_auth first.
	var handlers []string
	collectHandlers(adapted, &handlers)
	auth, proxy := slices.Index(handlers, "mcp_jwe_auth"), slices.Index(handlers, "reverse_proxy")
	if auth < 0 || proxy < 0 || auth > proxy {
		t.Errorf("handlers in order: %v, want mcp_jwe_auth before reverse_proxy", handlers)
	}
}

// collectHandlers appends, in document order, the value of every "handler"
// member in the JSON value v.
func collectHandlers(v any, handlers *[]string) {
	switch v := v.(type) {
	case map[string]any:
		if h, ok := v["handler"].(string); ok {
			*handlers = append(*handlers, h)
		}
		// Routes are ordered by their "routes" and "handle" arrays; walk
		// those members in a fixed order so the result follows them.
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			collectHandlers(v[k], handlers)
		}
	case []any:
		for _, e := range v {
			collectHandlers(e, handlers)
		}
	}
}

// caddyAdapt runs `caddy adapt` on the Caddyfile at file, asserts that it
// succeeds and returns the adapted JSON config.
func caddyAdapt(t *testing.T, file string) any {
	t.Helper()
	bin := caddyBinary(t)
	var stdout, stderr bytes.Buffer
	adapt := exec.Command(bin, "adapt", "--config", file, "--adapter", "caddyfile")
	adapt.Stdout, adapt.Stderr = &stdout, &stderr
	if err := adapt.Run(); err != nil {
		t.Fatalf("caddy adapt: %v\n%s", err, stderr.Bytes())
	}
	if strings.Contains(stderr.String(), "not formatted") {
		t.Errorf("caddy adapt warns: %s", stderr.Bytes())
	}
	var config any
	if err := json.Unmarshal(stdout.Bytes(), &config); err != nil {
		t.Fatalf("caddy adapt printed no JSON: %v\n%s", err, stdout.Bytes())
	}
	return config
}
