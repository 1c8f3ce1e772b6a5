package keys

import (
	"fmt"
	"regexp"

	"sigs.k8s.io/yaml"
)

// Defaults and the data key of the Kubernetes Secret.
const (
	DefaultSecretName = "mcp-server-keys"
	DefaultNamespace  = "default"
	// SecretDataKey is the key under data that holds the private JWKS;
	// mounted as a file, it is what MCP_KEY_FILE_PATH points at.
	SecretDataKey = "mcp_jwks"
)

// DNS-1123 names, as Kubernetes checks them.
var (
	dns1123Label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// ValidateSecretName checks that name is a valid Secret name: a DNS-1123
// subdomain of at most 253 characters.
func ValidateSecretName(name string) error {
	if len(name) > 253 || !dns1123Subdomain.MatchString(name) {
		return fmt.Errorf("invalid secret name %q: it must be at most 253 characters of lowercase letters, digits, '-' and '.', starting and ending with a letter or digit", name)
	}
	return nil
}

// ValidateNamespace checks that namespace is a valid Kubernetes namespace: a
// DNS-1123 label of at most 63 characters.
func ValidateNamespace(namespace string) error {
	if len(namespace) > 63 || !dns1123Label.MatchString(namespace) {
		return fmt.Errorf("invalid namespace %q: it must be at most 63 characters of lowercase letters, digits and '-', starting and ending with a letter or digit", namespace)
	}
	return nil
}

// secretManifest is the part of a Kubernetes Secret that Secret fills in.
type secretManifest struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   secretMetadata    `json:"metadata"`
	Type       string            `json:"type"`
	Data       map[string][]byte `json:"data"` // encoded as standard base64
}

// secretMetadata is a Secret's metadata.
type secretMetadata struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// Secret returns the YAML of an Opaque Kubernetes Secret named name in
// namespace whose data.mcp_jwks is the standard base64 of jwks, byte for
// byte. It validates name and namespace first.
func Secret(name, namespace string, jwks []byte) ([]byte, error) {
	return SecretData(name, namespace, map[string][]byte{SecretDataKey: jwks})
}

// SecretData returns the YAML of an Opaque Kubernetes Secret named name in
// namespace whose data holds each file of data (data key → bytes) as
// standard base64, byte for byte, such as the encryption key set under
// mcp_jwks and the signing key set under mcp_signing_jwks. It validates
// name and namespace first.
func SecretData(name, namespace string, data map[string][]byte) ([]byte, error) {
	if err := ValidateSecretName(name); err != nil {
		return nil, err
	}
	if err := ValidateNamespace(namespace); err != nil {
		return nil, err
	}
	out, err := yaml.Marshal(secretManifest{
		APIVersion: "v1",
		Kind:       "Secret",
		Metadata:   secretMetadata{Name: name, Namespace: namespace},
		Type:       "Opaque",
		Data:       data,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding Secret as YAML: %v", err)
	}
	return out, nil
}
