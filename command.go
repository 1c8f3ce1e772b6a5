package mcpjweauth

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/keys"
	"github.com/spf13/cobra"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "mcp-keys",
		Usage: "<generate|rotate|k8s|clean|token|dpop-key|dpop-proof> [flags]",
		Short: "Manages the mcp_jwe_auth key pair and mints test tokens",
		Long: `
Manages the key pair of the mcp_jwe_auth handler and mints tokens for testing.

  generate  writes a new key pair: DIR/mcp-private.json and DIR/mcp-public.json
  rotate    puts a new key first in both files and drops the oldest keys
  k8s       prints a Kubernetes Secret holding the private key set
  clean     overwrites and removes the key pair
  token     mints a token the handler accepts
  dpop-key  writes a new DPoP client key (a private ES256 JWK)
  dpop-proof prints a DPoP proof for one request, made with such a key

Results go to stdout, hints to stderr. Run 'caddy mcp-keys <verb> --help'
for a verb's flags.
`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Args = cobra.NoArgs
			cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
			for _, verb := range []*cobra.Command{generateCommand(), rotateCommand(), k8sCommand(), cleanCommand(), tokenCommand(),
				dpopKeyCommand(), dpopProofCommand()} {
				cmd.AddCommand(pointToHelp(verb))
			}
		},
	})
}

// console is where a verb writes: results to out (stdout), hints to hints
// (stderr).
type console struct {
	out, hints io.Writer
}

// runVerb adapts a verb to cobra's RunE. It does not use
// caddycmd.WrapCommandFuncForCobra, which logs a returned error through
// Caddy's logger (a JSON entry when stderr is not a terminal): it hands the
// error to cobra, which prints it as one plain line, "Error: ...", on
// stderr, and caddycmd.Main then exits with status 1.
func runVerb(verb func(console, caddycmd.Flags) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		c := console{out: cmd.OutOrStdout(), hints: cmd.ErrOrStderr()}
		return verb(c, caddycmd.Flags{FlagSet: cmd.Flags()})
	}
}

// pointToHelp ends the error of a verb's usage mistakes with where its
// flags are described: a flag that is unknown or whose value does not
// parse, a required flag left out, and an argument where none is taken.
// Mistakes found in a flag's value later name their fix themselves.
func pointToHelp(verb *cobra.Command) *cobra.Command {
	hint := func(cmd *cobra.Command, err error) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("%w (see 'caddy mcp-keys %s --help')", err, cmd.Name())
	}
	verb.SetFlagErrorFunc(hint)
	args := verb.Args
	verb.Args = func(cmd *cobra.Command, a []string) error { return hint(cmd, args(cmd, a)) }
	// PreRunE runs before cobra checks the required flags itself.
	verb.PreRunE = func(cmd *cobra.Command, _ []string) error { return hint(cmd, cmd.ValidateRequiredFlags()) }
	return verb
}

// addDirFlag adds the -o/--output flag, the key directory.
func addDirFlag(cmd *cobra.Command) {
	cmd.Flags().StringP("output", "o", keys.DefaultDir, "key directory")
}

// generateCommand returns the generate verb.
func generateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "generate [-o DIR] [--use enc|sig] [--alg ALG] [--size BITS] [--force]",
		Short: "Writes a new key pair",
		Long: `
Generates a key pair and writes DIR/mcp-private.json (mode 0600, the
directory is created with mode 0700) and DIR/mcp-public.json, each a JWKS
whose key has "kid" (its RFC 7638 thumbprint), "alg" and "use": "enc".
Prints both paths and the MCP_KEY_FILE_PATH=... line for the handler.

With --use sig it makes the signing pair of identity_assertion instead:
DIR/mcp-signing-private.json and DIR/mcp-signing-public.json, by the same
file rules, with --alg EdDSA (Ed25519, the default) or ES256 (P-256). The
encryption pair is never touched.

Existing keys are never overwritten without --force.
`,
		Args: cobra.NoArgs,
		RunE: runVerb(console.generate),
	}
	addDirFlag(cmd)
	cmd.Flags().String("use", "enc", "enc: the encryption pair; sig: the identity assertion's signing pair")
	cmd.Flags().String("alg", keys.AlgRSAOAEP, "key-management algorithm: "+strings.Join(keys.Algorithms, ", ")+" (P-256); with --use sig: "+strings.Join(keys.SigningAlgorithms, ", ")+" (default "+keys.AlgEdDSA+")")
	cmd.Flags().Int("size", keys.DefaultRSABits, fmt.Sprintf("RSA key size in bits, %d to %d (RSA algorithms only)", keys.MinRSABits, keys.MaxRSABits))
	cmd.Flags().Bool("force", false, "replace existing keys")
	return cmd
}

// generate writes a new key pair.
func (c console) generate(fl caddycmd.Flags) error {
	switch fl.String("use") {
	case "sig":
		return c.generateSigning(fl)
	case "enc":
	default:
		return fmt.Errorf("--use %q: use enc (the encryption pair) or sig (the signing pair)", fl.String("use"))
	}
	dir := fl.String("output")
	bits := 0 // the algorithm's default
	if fl.Changed("size") {
		// keys.Generate reads 0 as "the default": an explicit 0 is a mistake.
		if bits = fl.Int("size"); bits == 0 {
			return fmt.Errorf("--size 0 is not a key size: give the RSA key size in bits (%d to %d), or leave --size out for %d", keys.MinRSABits, keys.MaxRSABits, keys.DefaultRSABits)
		}
	}
	p, err := keys.Generate(dir, fl.String("alg"), bits, fl.Bool("force"))
	if errors.Is(err, keys.ErrExist) {
		return fmt.Errorf("%v (use --force to replace the keys, or 'caddy mcp-keys clean' to remove them)", err)
	}
	if err != nil {
		return err
	}
	keyFile, err := filepath.Abs(p.Private)
	if err != nil {
		return fmt.Errorf("resolving the private key path: %v", err)
	}
	fmt.Fprintf(c.out, "private key: %s\npublic key:  %s\nMCP_KEY_FILE_PATH=%s\n", p.Private, p.Public, keyFile)
	fmt.Fprintf(c.hints, "Keep %s secret. Give %s to your token issuers; the handler also publishes it at /.well-known/jwks.json.\n", keys.PrivateFileName, keys.PublicFileName)
	return nil
}

// generateSigning writes a new signing key pair.
func (c console) generateSigning(fl caddycmd.Flags) error {
	if fl.Changed("size") {
		return errors.New("--size applies to RSA encryption keys: a signing key is Ed25519 or P-256")
	}
	alg := keys.AlgEdDSA
	if fl.Changed("alg") {
		alg = fl.String("alg")
	}
	dir := fl.String("output")
	p, err := keys.GenerateSigning(dir, alg, fl.Bool("force"))
	if errors.Is(err, keys.ErrExist) {
		return fmt.Errorf("%v (use --force to replace the signing keys)", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "private signing key: %s\npublic signing key:  %s\n", p.Private, p.Public)
	fmt.Fprintf(c.hints, "Keep %s secret; name it as identity_assertion's key_file. Backends verify assertions with %s, also published at the assertion's jwks_path.\n",
		keys.SigningPrivateFileName, keys.SigningPublicFileName)
	return nil
}

// signingJWKS reads the private signing key set of dir, generating an
// EdDSA pair first when there is none.
func (c console) signingJWKS(dir string) ([]byte, error) {
	p, generated, err := keys.EnsureSigning(dir, keys.AlgEdDSA)
	if errors.Is(err, keys.ErrIncomplete) {
		return nil, fmt.Errorf("%v (restore the missing file, or run 'caddy mcp-keys generate --use sig --force' for a new pair)", err)
	}
	if err != nil {
		return nil, err
	}
	if generated {
		fmt.Fprintf(c.hints, "Generated a new signing key pair: %s and %s.\n", p.Private, p.Public)
	}
	return keys.ReadSigningJWKS(p.Private)
}

// rotateCommand returns the rotate verb.
func rotateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rotate [-o DIR] [--keep N] [--alg ALG] [--size BITS] [--prune]",
		Short: "Puts a new key first in the key pair and drops the oldest keys",
		Long: `
Generates a new key and puts it first in DIR/mcp-private.json and
DIR/mcp-public.json, so 'caddy mcp-keys token' and token issuers that take
the first key use it. The N most recent old keys (--keep, default 1) stay
behind it, so tokens already issued still open; older keys are dropped.
Both files are rewritten through temporary files renamed into place; the
private file keeps mode 0600.

The new key has the algorithm and RSA size of the current first key unless
--alg or --size is given (--size alone keeps the algorithm; --alg alone
keeps the size when both keys are RSA keys).

With --prune, no new key is made: the first key stays first and only the
old keys beyond --keep are dropped. Run 'rotate --prune --keep 0' once every
token made for the old keys has expired. (A plain 'rotate --keep 0' makes a
new key and drops every other one, so every token issued so far stops
working.)

A running Caddy reads the changed key file by itself within key_reload
(default 10s); in Kubernetes, update the Secret with 'caddy mcp-keys k8s'
and the running pods take it. Only with 'key_reload off' must Caddy be
reloaded with 'caddy reload --force' (a plain reload skips an unchanged
Caddyfile), or the pods restarted.
`,
		Args: cobra.NoArgs,
		RunE: runVerb(console.rotate),
	}
	addDirFlag(cmd)
	cmd.Flags().Int("keep", keys.DefaultKeep, "number of old keys to keep, most recent first")
	cmd.Flags().String("alg", "", "key-management algorithm of the new key: "+strings.Join(keys.Algorithms, ", ")+" (default: that of the current first key)")
	cmd.Flags().Int("size", 0, "RSA key size in bits of the new key (default: that of the current first key, or 4096)")
	cmd.Flags().Bool("prune", false, "make no new key: only drop the old keys beyond --keep")
	return cmd
}

// rotate puts a new key first in the key pair.
func (c console) rotate(fl caddycmd.Flags) error {
	dir, keep := fl.String("output"), fl.Int("keep")
	if keep < 0 {
		return fmt.Errorf("--keep must be 0 or more, not %d", keep)
	}
	var r keys.Rotation
	var err error
	if fl.Bool("prune") {
		if fl.Changed("alg") || fl.Changed("size") {
			return errors.New("--alg and --size apply to a new key, and --prune makes none")
		}
		r, err = keys.Prune(dir, keep)
	} else {
		r, err = keys.Rotate(dir, keep, fl.String("alg"), fl.Int("size"))
	}
	switch {
	case errors.Is(err, keys.ErrNoKeys):
		return fmt.Errorf("%v: run 'caddy mcp-keys generate -o %s' first", err, dir)
	case errors.Is(err, keys.ErrIncomplete), errors.Is(err, keys.ErrInconsistent):
		return fmt.Errorf("%v (restore both files from the same backup, or start over with 'caddy mcp-keys generate --force')", err)
	case err != nil:
		return err
	}
	size := ""
	if r.Bits > 0 {
		size = fmt.Sprintf(", %d bits", r.Bits)
	}
	first := "new key:    "
	if !r.Generated {
		first = "first key:  "
	}
	fmt.Fprintf(c.out, "%s %s (%s%s)\n", first, r.KID, r.Alg, size)
	for _, kid := range r.Kept {
		fmt.Fprintf(c.out, "kept:        %s\n", kid)
	}
	for _, kid := range r.Dropped {
		fmt.Fprintf(c.out, "dropped:     %s\n", kid)
	}
	fmt.Fprintf(c.out, "private key: %s\npublic key:  %s\n", r.Private, r.Public)
	if !r.Generated && len(r.Dropped) == 0 {
		fmt.Fprintln(c.hints, "Nothing to drop: the key files are unchanged.")
		return nil
	}
	fmt.Fprintf(c.hints, "Caddy loads the new key set by itself within key_reload (default 10s; in Kubernetes: 'caddy mcp-keys k8s -o %s | kubectl apply -f -', and the running pods take it); with 'key_reload off', run 'caddy reload --force' or restart the pods. Give %s to your token issuers.\n", dir, keys.PublicFileName)
	if len(r.Dropped) > 0 {
		fmt.Fprintln(c.hints, "Tokens encrypted to a dropped key, cached or not, are refused once Caddy has loaded the new key set.")
	}
	return nil
}

// k8sCommand returns the k8s verb.
func k8sCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "k8s [-o DIR] [-n NAMESPACE] [-s SECRET_NAME] [--with-signing]",
		Short: "Prints a Kubernetes Secret holding the private key set",
		Long: `
Prints a Kubernetes Secret (type Opaque) whose data.mcp_jwks is the private
key set DIR/mcp-private.json, byte for byte. If DIR holds no keys, a new
pair is generated first (RSA-OAEP, 4096 bits); existing keys are reused.

With --with-signing the same Secret also holds data.mcp_signing_jwks, the
identity assertion's private signing key set DIR/mcp-signing-private.json
(a new EdDSA pair is generated first when DIR holds none).

The YAML alone goes to stdout, so it can be piped to 'kubectl apply -f -';
hints go to stderr. The YAML holds the private key: do not commit it.
`,
		Args: cobra.NoArgs,
		RunE: runVerb(console.k8s),
	}
	addDirFlag(cmd)
	cmd.Flags().StringP("namespace", "n", keys.DefaultNamespace, "namespace of the Secret")
	cmd.Flags().StringP("secret-name", "s", keys.DefaultSecretName, "name of the Secret")
	cmd.Flags().Bool("with-signing", false, "also put the signing key set (mcp-signing-private.json) in the Secret, as "+keys.SigningSecretDataKey)
	return cmd
}

// k8s prints the Kubernetes Secret.
func (c console) k8s(fl caddycmd.Flags) error {
	dir, name, namespace := fl.String("output"), fl.String("secret-name"), fl.String("namespace")
	if err := keys.ValidateSecretName(name); err != nil {
		return err
	}
	if err := keys.ValidateNamespace(namespace); err != nil {
		return err
	}
	p, generated, err := keys.Ensure(dir, keys.AlgRSAOAEP, keys.DefaultRSABits)
	if errors.Is(err, keys.ErrIncomplete) {
		return fmt.Errorf("%v (restore the missing file, or run 'caddy mcp-keys generate --force' for a new pair)", err)
	}
	if err != nil {
		return err
	}
	jwks, err := keys.ReadPrivateJWKS(p.Private)
	if err != nil {
		return err
	}
	data := map[string][]byte{keys.SecretDataKey: jwks}
	if fl.Bool("with-signing") {
		if data[keys.SigningSecretDataKey], err = c.signingJWKS(dir); err != nil {
			return err
		}
	}
	manifest, err := keys.SecretData(name, namespace, data)
	if err != nil {
		return err
	}
	if _, err := c.out.Write(manifest); err != nil {
		return fmt.Errorf("writing the Secret: %v", err)
	}
	if generated {
		fmt.Fprintf(c.hints, "Generated a new key pair: %s and %s.\n", p.Private, p.Public)
	}
	fmt.Fprintf(c.hints, `Apply it with: caddy mcp-keys k8s ... | kubectl apply -f -
Mount the Secret into the Caddy pod and point MCP_KEY_FILE_PATH at the mounted key, e.g.:
  volumes:      [{name: mcp-keys, secret: {secretName: %s}}]
  volumeMounts: [{name: mcp-keys, mountPath: /etc/mcp-keys, readOnly: true}]
  env:          [{name: MCP_KEY_FILE_PATH, value: /etc/mcp-keys/%s}]
The YAML holds the private key: do not commit it.
`, name, keys.SecretDataKey)
	if fl.Bool("with-signing") {
		fmt.Fprintf(c.hints, "The signing key set is the mounted file /etc/mcp-keys/%s: name it as identity_assertion's key_file.\n", keys.SigningSecretDataKey)
	}
	return nil
}

// cleanCommand returns the clean verb.
func cleanCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "clean [-o DIR]",
		Short: "Overwrites and removes the key pair",
		Long: `
Overwrites DIR/mcp-private.json with random bytes, syncs and removes it, then
removes DIR/mcp-public.json. Temporary key files that an interrupted generate
or rotate left beside them go the same way. Symbolic links are removed, never
followed; a private key file that other hard links name is removed but not
overwritten.

Overwriting cannot guarantee erasure on SSDs, journaling or copy-on-write
filesystems, or in backups: if a key may have leaked, rotate it.
`,
		Args: cobra.NoArgs,
		RunE: runVerb(console.clean),
	}
	addDirFlag(cmd)
	return cmd
}

// clean removes the key pair.
func (c console) clean(fl caddycmd.Flags) error {
	dir := fl.String("output")
	removed, err := keys.Clean(dir)
	for _, r := range removed {
		switch {
		case r.Overwritten:
			fmt.Fprintf(c.out, "removed %s (overwritten with random bytes first)\n", r.Path)
		case r.Linked:
			fmt.Fprintf(c.out, "removed %s (not overwritten: other hard links still name its contents)\n", r.Path)
		default:
			fmt.Fprintf(c.out, "removed %s\n", r.Path)
		}
	}
	if err != nil {
		return err
	}
	if len(removed) == 0 {
		fmt.Fprintf(c.out, "nothing to remove in %s\n", dir)
		return nil
	}
	fmt.Fprintln(c.hints, "Overwriting cannot guarantee erasure on SSDs, journaling or copy-on-write filesystems, or in backups: if the key may have leaked, rotate it.")
	return nil
}

// tokenCommand returns the token verb.
func tokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token --key PUBLIC_JWKS --claims JSON [--ttl DURATION] [--sign-key ISSUER_PRIVATE_JWK] [--scope SCOPES] [--iss ISSUER] [--aud AUDIENCE] [--dpop-key JWK]",
		Short: "Mints a token the handler accepts",
		Long: `
Prints one line: a compact JWE (A256GCM) encrypted to the first key of
--key, with the key's own "alg" (default RSA-OAEP for RSA keys,
ECDH-ES+A256KW for EC and X25519 keys) and its "kid".

The payload is the --claims JSON object with iat = now and exp = now + --ttl
(Go duration syntax, e.g. 90m).

With --sign-key (the issuer's private JWK, or a JWKS whose first key is
used), the claims are first signed as a compact JWS ("typ": "JWT"; the key's
own "alg", or RS256, ES256/ES384/ES512 or EdDSA by key type), which is then
encrypted with "cty": "JWT". Without it the token is encrypted only, which
the handler accepts only with allow_unsigned.

--scope, --iss and --aud set the claims scope (space-separated OAuth scopes),
iss and aud of an OAuth access token, for a handler with oauth_scopes,
token_issuers and resource (or audience); --claims must not set them too.

--dpop-key (a DPoP client's JWK, see dpop-key) binds the token to that key:
the claim cnf is {"jkt": <the key's RFC 7638 thumbprint>}, so the handler
accepts the token only as "Authorization: DPoP <token>" with a proof made
with the key (see dpop-proof).
`,
		Args: cobra.NoArgs,
		RunE: runVerb(console.token),
	}
	cmd.Flags().String("key", "", "the server's public JWKS (or its private JWKS, or a single JWK)")
	cmd.Flags().String("claims", "", `claims as a JSON object, e.g. '{"sub":"ada","name":"Ada"}'`)
	cmd.Flags().Duration("ttl", keys.DefaultTTL, "lifetime of the token")
	cmd.Flags().String("sign-key", "", "issuer's private JWK or JWKS to sign the claims with")
	cmd.Flags().String("scope", "", `the scope claim: OAuth scopes, space-separated, e.g. "mcp:tools"`)
	cmd.Flags().String("iss", "", "the iss claim: the token issuer")
	cmd.Flags().String("aud", "", "the aud claim: the resource the token is for")
	cmd.Flags().String("dpop-key", "", "a DPoP client's JWK to bind the token to (cnf.jkt)")
	_ = cmd.MarkFlagRequired("key")
	_ = cmd.MarkFlagRequired("claims")
	return cmd
}

// token mints a token.
func (c console) token(fl caddycmd.Flags) error {
	claims, err := keys.ParseClaims(fl.String("claims"))
	if err != nil {
		return err
	}
	for _, name := range []string{"scope", "iss", "aud"} {
		if value := fl.String(name); value != "" {
			if _, set := claims[name]; set {
				return fmt.Errorf("--%s and the %s member of --claims: give one of them", name, name)
			}
			claims[name] = value
		}
	}
	if path := fl.String("dpop-key"); path != "" {
		if _, set := claims["cnf"]; set {
			return errors.New("--dpop-key and the cnf member of --claims: give one of them")
		}
		dpopKey, err := keys.LoadSigningKey(path)
		if err != nil {
			return err
		}
		if claims["cnf"], err = keys.DPoPBinding(dpopKey); err != nil {
			return err
		}
	}
	encrypt, err := keys.LoadEncryptionKey(fl.String("key"))
	if err != nil {
		return err
	}
	var sign *jose.Key
	if path := fl.String("sign-key"); path != "" {
		if sign, err = keys.LoadSigningKey(path); err != nil {
			return err
		}
	}
	ttl, err := fl.GetDuration("ttl")
	if err != nil {
		return err
	}
	token, err := keys.Token{Claims: claims, TTL: ttl, Encrypt: encrypt, Sign: sign}.Mint(time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, token)
	if sign == nil {
		fmt.Fprintln(c.hints, "This token is encrypted only: the handler accepts it only with allow_unsigned. Use --sign-key for a signed token.")
	}
	return nil
}

// dpopKeyCommand is the dpop-key verb.
func dpopKeyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dpop-key --output FILE [--force]",
		Short: "Writes a new DPoP client key",
		Long: `
Writes a new P-256 private JWK (ES256, "use": "sig") to FILE with mode
0600, the key a DPoP client proves possession of, and prints the path and
the key's RFC 7638 thumbprint (the cnf.jkt of tokens bound to it). Use it
with "token --dpop-key" and "dpop-proof --key" to try a DPoP-bound token.

An existing file is never overwritten without --force.
`,
		Args: cobra.NoArgs,
		RunE: runVerb(console.dpopKey),
	}
	cmd.Flags().StringP("output", "o", "", "file to write the private JWK to")
	cmd.Flags().Bool("force", false, "replace an existing file")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

// dpopKey writes a new DPoP client key.
func (c console) dpopKey(fl caddycmd.Flags) error {
	path := fl.String("output")
	key, err := keys.WriteDPoPKey(path, fl.Bool("force"))
	if err != nil {
		return err
	}
	jkt, err := key.Thumbprint()
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, path)
	fmt.Fprintln(c.hints, "jkt "+jkt)
	return nil
}

// dpopProofCommand is the dpop-proof verb.
func dpopProofCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dpop-proof --key JWK --method METHOD --url URL [--token TOKEN] [--nonce NONCE]",
		Short: "Prints a DPoP proof for one request",
		Long: `
Prints one line: a DPoP proof (RFC 9449) for a request with METHOD to URL,
signed with the private JWK --key (or the first key of a JWKS): typ
dpop+jwt, the key's public half as jwk, a random jti, iat now, htu the URL
without query and fragment, and, with --token, ath the token's hash. Send
it as the DPoP header, with "Authorization: DPoP <token>"; a proof is
accepted once, for five minutes. --nonce adds the handler's DPoP-Nonce
(with dpop_nonce).
`,
		Args: cobra.NoArgs,
		RunE: runVerb(console.dpopProof),
	}
	cmd.Flags().String("key", "", "the DPoP client's private JWK")
	cmd.Flags().String("method", "", "the request's HTTP method, e.g. POST")
	cmd.Flags().String("url", "", "the URL the request goes to, e.g. https://mcp.example.com/mcp")
	cmd.Flags().String("token", "", "the access token sent with the proof")
	cmd.Flags().String("nonce", "", "the handler's DPoP-Nonce, when it asks for one")
	for _, name := range []string{"key", "method", "url"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// dpopProof prints a DPoP proof.
func (c console) dpopProof(fl caddycmd.Flags) error {
	key, err := keys.LoadSigningKey(fl.String("key"))
	if err != nil {
		return err
	}
	proof, err := jose.SignDPoPProof(key, jose.ProofRequest{
		Method:      fl.String("method"),
		URL:         fl.String("url"),
		AccessToken: fl.String("token"),
		Nonce:       fl.String("nonce"),
	}, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, proof)
	return nil
}
