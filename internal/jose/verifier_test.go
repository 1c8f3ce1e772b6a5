package jose

import (
	"crypto/ecdh"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
	"github.com/lestrrat-go/jwx/v2/jwa"
)

// verifyCase is one rule of token validation as the verifier sees it.
type verifyCase struct {
	name  string
	token string
	opts  []verifierOption
	// want is the reason the token is refused; nil when it is accepted.
	want error
	// beforeKeyOp: the refusal must come from inspect, before any
	// private-key operation.
	beforeKeyOp bool
	// keyOps, when not 0, is the exact number of key operations verify makes.
	keyOps int64
	// check looks at an accepted token's claims.
	check func(t *testing.T, got *VerifiedToken)
}

// maxRefusalTime bounds how long a refusal before any key operation may
// take: far above what the checks need, far below a PBES2 derivation with
// a huge p2c or a run of RSA operations.
const maxRefusalTime = 5 * time.Second

func TestVerifier(t *testing.T) {
	f := newVerifyFixture(t)
	cases := verifySizeAndFormCases(t, f)
	cases = append(cases, verifyHeaderCases(t, f)...)
	cases = append(cases, verifyDecryptionCases(t, f)...)
	cases = append(cases, verifyTimeCases(t, f)...)
	cases = append(cases, verifyPayloadCases(t, f)...)
	cases = append(cases, verifyNestedCases(t, f)...)

	names := make(map[string]bool)
	for _, tc := range cases {
		if names[tc.name] {
			t.Fatalf("two rows are named %q", tc.name)
		}
		names[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, f.keys, tc.opts...)
			if tc.beforeKeyOp {
				if _, err := v.Inspect(tc.token); !errors.Is(err, tc.want) {
					t.Fatalf("inspect: got error %v, want %v", err, tc.want)
				}
			}
			start := time.Now()
			got, err := v.Verify(tc.token)
			elapsed := time.Since(start)
			ops := v.keyOperations.Load()
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got error %v, want %v", err, tc.want)
			case tc.want != nil && got != nil:
				t.Fatalf("refused with %v but returned a token", err)
			}
			if tc.beforeKeyOp {
				if ops != 0 {
					t.Errorf("%d private-key operations before the refusal, want none", ops)
				}
				if elapsed > maxRefusalTime {
					t.Errorf("refusal took %v", elapsed)
				}
			}
			if tc.keyOps != 0 && ops != tc.keyOps {
				t.Errorf("%d private-key operations, want %d", ops, tc.keyOps)
			}
			if tc.want != nil {
				return
			}
			if ops == 0 {
				t.Errorf("accepted without a private-key operation")
			}
			if got.Claims == nil || got.ClaimsJSON == nil {
				t.Fatalf("accepted token has no claims")
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
	t.Logf("%d rows", len(cases))
}

// wantClaim checks one claim's compact JSON.
func wantClaim(name, value string) func(*testing.T, *VerifiedToken) {
	return func(t *testing.T, got *VerifiedToken) {
		t.Helper()
		if raw, ok := got.Claims[name]; !ok || string(raw) != value {
			t.Errorf("claim %s = %s (present %v), want %s", name, raw, ok, value)
		}
	}
}

// payloadAt is a payload with the given iat and exp (JSON text) and more
// members (JSON text, without braces, may be empty).
func payloadAt(iat, exp any, more string) string {
	s := fmt.Sprintf(`{"iat":%v,"exp":%v`, iat, exp)
	if more != "" {
		s += "," + more
	}
	return s + "}"
}

// validPayload is a payload valid at testNow with more members.
func validPayload(more string) string {
	now := testNow.Unix()
	return payloadAt(now, now+3600, more)
}

// setTrailingBit changes the last character of a base64url part so that a
// bit after the last full byte is set: same bytes for a lax decoder, a
// different spelling of them.
func setTrailingBit(t testing.TB, part string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(part)%4 == 0 {
		t.Fatalf("part of %d characters has no trailing bits", len(part))
	}
	i := strings.IndexByte(alphabet, part[len(part)-1])
	return part[:len(part)-1] + string(alphabet[i|1])
}

// replacePart replaces part i of a compact token.
func replacePart(token string, i int, part string) string {
	parts := tokenParts(token)
	parts[i] = part
	return strings.Join(parts, ".")
}

func verifySizeAndFormCases(t *testing.T, f *verifyFixture) []verifyCase {
	valid := f.seal(t, f.claims(t, nil))
	mint := func(payloadPad, headerPad int) string {
		opts := &gojose.EncrypterOptions{}
		if headerPad > 0 {
			opts.WithHeader("pad", strings.Repeat("h", headerPad))
		}
		return josetest.EncryptOpts(t, f.claims(t, map[string]any{"pad": strings.Repeat("p", payloadPad)}),
			gojose.RSA_OAEP, gojose.A256GCM, &f.rsaA.PublicKey, "rsa-a", opts)
	}
	exactly := tokenOfLength(t, DefaultMaxTokenBytes, mint)
	oneOver := tokenOfLength(t, DefaultMaxTokenBytes+1, mint)

	general := func() string {
		enc, err := gojose.NewMultiEncrypter(gojose.A256GCM, []gojose.Recipient{
			{Algorithm: gojose.RSA_OAEP, Key: &f.rsaA.PublicKey, KeyID: "rsa-a"},
			{Algorithm: gojose.RSA_OAEP, Key: &f.rsaB.PublicKey, KeyID: "rsa-b"},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := enc.Encrypt(f.claims(t, nil))
		if err != nil {
			t.Fatal(err)
		}
		return obj.FullSerialize()
	}()
	flattened := func() string {
		enc, err := gojose.NewEncrypter(gojose.A256GCM, gojose.Recipient{Algorithm: gojose.RSA_OAEP, Key: &f.rsaA.PublicKey, KeyID: "rsa-a"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := enc.Encrypt(f.claims(t, nil))
		if err != nil {
			t.Fatal(err)
		}
		return obj.FullSerialize()
	}()
	if !strings.Contains(general, `"recipients"`) || strings.Contains(flattened, `"recipients"`) {
		t.Fatalf("go-jose did not produce the general and flattened JSON serialisations")
	}

	// A token whose parts hold '-' or '_', to spell with '+' and '/'.
	urlAlphabet := valid
	for i := 0; !strings.ContainsAny(urlAlphabet[strings.IndexByte(urlAlphabet, '.'):], "-_"); i++ {
		if i == 50 {
			t.Fatal("no token with '-' or '_' in 50 tries")
		}
		urlAlphabet = f.seal(t, f.claims(t, nil))
	}
	header := tokenParts(urlAlphabet)[0]
	stdAlphabet := header + strings.NewReplacer("-", "+", "_", "/").Replace(urlAlphabet[len(header):])

	parts := tokenParts(valid)
	return []verifyCase{
		{name: "size/empty token", token: "", want: ErrEmptyToken, beforeKeyOp: true},
		{name: "size/exactly max_token_bytes is accepted", token: exactly, keyOps: 1},
		{name: "size/max_token_bytes+1 is refused", token: oneOver, want: ErrTokenTooLarge, beforeKeyOp: true},
		{name: "size/a configured max_token_bytes is honoured", token: valid, opts: []verifierOption{withMaxTokenBytes(len(valid) - 1)},
			want: ErrTokenTooLarge, beforeKeyOp: true},

		{name: "form/JSON general serialisation", token: general, want: ErrNotCompact, beforeKeyOp: true},
		{name: "form/JSON flattened serialisation", token: flattened, want: ErrNotCompact, beforeKeyOp: true},
		{name: "form/four parts", token: strings.Join(parts[:4], "."), want: ErrNotCompact, beforeKeyOp: true},
		{name: "form/six parts", token: valid + "." + parts[4], want: ErrNotCompact, beforeKeyOp: true},
		{name: "form/three parts (a JWS)", token: strings.Join(parts[:3], "."), want: ErrNotCompact, beforeKeyOp: true},
		{name: "form/non-zero trailing bits", token: replacePart(valid, 4, setTrailingBit(t, parts[4])), want: ErrNotCompact, beforeKeyOp: true},
		{name: "form/trailing bits in the header", token: replacePart(valid, 0, setTrailingBit(t, padHeaderPart(t, parts[0]))),
			want: ErrNotCompact, beforeKeyOp: true},
		{name: "form/padding =", token: replacePart(valid, 4, parts[4]+"=="), want: ErrNotCompact, beforeKeyOp: true},
		{name: "form/standard alphabet +/", token: stdAlphabet, want: ErrNotCompact, beforeKeyOp: true},
		{name: "form/white space inside", token: replacePart(valid, 3, parts[3][:10]+"\n"+parts[3][10:]), want: ErrNotCompact, beforeKeyOp: true},
		{name: "form/empty protected header", token: replacePart(valid, 0, ""), want: ErrNotCompact, beforeKeyOp: true},
	}
}

// padHeaderPart returns a header part whose length is not a multiple of 4
// (so it has trailing bits), adding a member to the header when needed.
func padHeaderPart(t testing.TB, part string) string {
	t.Helper()
	for pad := ""; ; pad += "x" {
		candidate := part
		if pad != "" {
			decoded, err := strictBase64URL.DecodeString(part)
			if err != nil {
				t.Fatal(err)
			}
			var header map[string]any
			if err := json.Unmarshal(decoded, &header); err != nil {
				t.Fatal(err)
			}
			header["pad"] = pad
			candidate = encodeHeader(t, header)
		}
		if len(candidate)%4 != 0 {
			return candidate
		}
	}
}

func verifyHeaderCases(t *testing.T, f *verifyFixture) []verifyCase {
	payload := f.claims(t, nil)
	key16, key32 := make([]byte, 16), make([]byte, 32)
	rsaPub := &f.rsaA.PublicKey
	hand := func(header map[string]any) string { return handBuiltJWE(t, header) }
	rawHeader := func(header string) string {
		return replacePart(handBuiltJWE(t, map[string]any{}), 0, josetest.B64([]byte(header)))
	}
	refused := func(name, token string, want error) verifyCase {
		return verifyCase{name: name, token: token, want: want, beforeKeyOp: true}
	}
	cbc := josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A128CBC_HS256, rsaPub, "rsa-a", nil)
	return []verifyCase{
		refused("header/not JSON", rawHeader(`alg=RSA-OAEP`), ErrMalformedHeader),
		refused("header/not an object", rawHeader(`["RSA-OAEP"]`), ErrMalformedHeader),
		refused("header/duplicate alg", rawHeader(`{"alg":"RSA-OAEP","enc":"A256GCM","alg":"dir"}`), ErrMalformedHeader),
		refused("header/duplicate alg in another case", rawHeader(`{"alg":"RSA-OAEP","enc":"A256GCM","ALG":"dir"}`), ErrMalformedHeader),
		refused("header/alg missing", hand(map[string]any{"enc": "A256GCM"}), ErrMalformedHeader),
		refused("header/alg not a string", hand(map[string]any{"alg": 1, "enc": "A256GCM"}), ErrMalformedHeader),
		refused("header/kid not a string", hand(map[string]any{"alg": "RSA-OAEP", "enc": "A256GCM", "kid": 7}), ErrMalformedHeader),
		refused("header/invalid UTF-8", rawHeader("{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\",\"x\":\"\xff\"}"), ErrMalformedHeader),

		refused("alg/RSA1_5 (go-jose)", josetest.Encrypt(t, payload, gojose.RSA1_5, gojose.A256GCM, rsaPub, "rsa-a", nil), ErrAlgorithmNotAllowed),
		refused("alg/dir (go-jose)", josetest.Encrypt(t, payload, gojose.DIRECT, gojose.A128GCM, key16, "", nil), ErrAlgorithmNotAllowed),
		refused("alg/A128KW (go-jose)", josetest.Encrypt(t, payload, gojose.A128KW, gojose.A256GCM, key16, "rsa-a", nil), ErrAlgorithmNotAllowed),
		refused("alg/A256KW (go-jose)", josetest.Encrypt(t, payload, gojose.A256KW, gojose.A256GCM, key32, "", nil), ErrAlgorithmNotAllowed),
		refused("alg/A128GCMKW (go-jose)", josetest.Encrypt(t, payload, gojose.A128GCMKW, gojose.A256GCM, key16, "", nil), ErrAlgorithmNotAllowed),
		refused("alg/PBES2-HS512+A256KW (go-jose)", josetest.EncryptTo(t, payload, gojose.A256GCM,
			gojose.Recipient{Algorithm: gojose.PBES2_HS512_A256KW, Key: "correct horse", PBES2Count: 1000}, nil), ErrAlgorithmNotAllowed),
		refused("alg/PBES2-HS256+A128KW with a huge p2c fails fast", hand(map[string]any{
			"alg": "PBES2-HS256+A128KW", "enc": "A128GCM", "p2s": josetest.B64(make([]byte, 16)), "p2c": 2147483647,
		}), ErrAlgorithmNotAllowed),
		refused("alg/none", hand(map[string]any{"alg": "none", "enc": "A256GCM"}), ErrAlgorithmNotAllowed),
		refused("alg/RSA-OAEP-384 is not a default (jwx)", jwxEncrypt(t, payload, jwa.RSA_OAEP_384, jwa.A256GCM, rsaPub, "rsa-a", ""), ErrAlgorithmNotAllowed),
		refused("alg/ECDH-ES labelled with an RSA key's kid", josetest.Encrypt(t, payload, gojose.ECDH_ES, gojose.A256GCM, &f.ec.PublicKey, "rsa-a", nil), ErrNoMatchingKey),
		{name: "alg/a key's own alg is the only one it takes", token: josetest.Encrypt(t, payload, gojose.RSA_OAEP_256, gojose.A256GCM, rsaPub, "rsa-a", nil),
			opts: []verifierOption{withKeys(f.keysOwnAlg)}, want: ErrNoMatchingKey, beforeKeyOp: true},
		{name: "alg/a key's own alg is accepted", token: josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A256GCM, rsaPub, "rsa-a", nil),
			opts: []verifierOption{withKeys(f.keysOwnAlg)}, keyOps: 1},
		{name: "alg/algorithms leaves out RSA-OAEP", token: josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A256GCM, rsaPub, "rsa-a", nil),
			opts: []verifierOption{withKeys(f.keysLimited)}, want: ErrAlgorithmNotAllowed, beforeKeyOp: true},
		{name: "alg/algorithms keeps RSA-OAEP-256", token: josetest.Encrypt(t, payload, gojose.RSA_OAEP_256, gojose.A256GCM, rsaPub, "rsa-a", nil),
			opts: []verifierOption{withKeys(f.keysLimited)}, keyOps: 1},

		refused("enc/A128CBC-HS256 by default", cbc, ErrEncryptionNotAllowed),
		{name: "enc/A128CBC-HS256 when configured (go-jose)", token: cbc,
			opts: []verifierOption{withEncryptions(jwa.A256GCM, jwa.A128CBC_HS256)}, keyOps: 1},
		{name: "enc/A256CBC-HS512 when configured (jwx)", token: jwxEncrypt(t, payload, jwa.RSA_OAEP_256, jwa.A256CBC_HS512, rsaPub, "rsa-a", ""),
			opts: []verifierOption{withEncryptions(jwa.A256CBC_HS512)}, keyOps: 1},
		{name: "enc/A256GCM when only A128GCM is configured", token: f.seal(t, payload),
			opts: []verifierOption{withEncryptions(jwa.A128GCM)}, want: ErrEncryptionNotAllowed, beforeKeyOp: true},
		refused("enc/missing", hand(map[string]any{"alg": "RSA-OAEP", "kid": "rsa-a"}), ErrEncryptionNotAllowed),
		refused("enc/not a string", hand(map[string]any{"alg": "RSA-OAEP", "enc": []string{"A256GCM"}, "kid": "rsa-a"}), ErrEncryptionNotAllowed),

		refused("zip/DEF (go-jose)", josetest.EncryptOpts(t, payload, gojose.RSA_OAEP, gojose.A256GCM, rsaPub, "rsa-a",
			&gojose.EncrypterOptions{Compression: gojose.DEFLATE}), ErrCompressed),
		refused("crit/exp (go-jose)", josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A256GCM, rsaPub, "rsa-a",
			map[gojose.HeaderKey]any{"crit": []string{"exp"}, "exp": testNow.Unix()}), ErrCriticalHeader),
		refused("crit/empty list", hand(map[string]any{"alg": "RSA-OAEP", "enc": "A256GCM", "crit": []string{}}), ErrCriticalHeader),
	}
}

// offCurveEPK changes the y coordinate of an ECDH-ES token's epk so that
// the point is no longer on P-256.
func offCurveEPK(t testing.TB, token string) string {
	t.Helper()
	return rewriteHeader(t, token, func(header map[string]any) {
		epk := header["epk"].(map[string]any)
		x, err := strictBase64URL.DecodeString(epk["x"].(string))
		if err != nil {
			t.Fatal(err)
		}
		y, err := strictBase64URL.DecodeString(epk["y"].(string))
		if err != nil {
			t.Fatal(err)
		}
		y = josetest.FlipLastByte(y)
		if _, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, x...), y...)); err == nil {
			t.Fatal("the changed epk is still on the curve")
		}
		epk["y"] = josetest.B64(y)
	})
}

func verifyDecryptionCases(t *testing.T, f *verifyFixture) []verifyCase {
	payload := f.claims(t, nil)
	rsaA, rsaB, ec := &f.rsaA.PublicKey, &f.rsaB.PublicKey, &f.ec.PublicKey
	attacker := &f.issuerRSA.PublicKey // a key the server does not hold
	foreign := map[gojose.HeaderKey]any{
		"jwk": gojose.JSONWebKey{Key: attacker, Use: "enc"},
		"jku": "https://attacker.example/jwks.json",
		"x5u": "https://attacker.example/cert.pem",
	}
	valid := josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A256GCM, rsaA, "rsa-a", nil)
	p384 := josetest.NewECKey(t, elliptic.P384())
	ok := func(name, token string) verifyCase {
		return verifyCase{name: name, token: token, keyOps: 1, check: wantClaim("sub", `"ada"`)}
	}
	return []verifyCase{
		ok("valid/RSA-OAEP A128GCM (go-jose)", josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A128GCM, rsaA, "rsa-a", nil)),
		ok("valid/RSA-OAEP A192GCM (go-jose)", josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A192GCM, rsaA, "rsa-a", nil)),
		ok("valid/RSA-OAEP A256GCM (go-jose)", valid),
		ok("valid/RSA-OAEP-256 A128GCM (go-jose)", josetest.Encrypt(t, payload, gojose.RSA_OAEP_256, gojose.A128GCM, rsaA, "rsa-a", nil)),
		ok("valid/RSA-OAEP-256 A192GCM (go-jose)", josetest.Encrypt(t, payload, gojose.RSA_OAEP_256, gojose.A192GCM, rsaA, "rsa-a", nil)),
		ok("valid/RSA-OAEP-256 A256GCM (go-jose)", josetest.Encrypt(t, payload, gojose.RSA_OAEP_256, gojose.A256GCM, rsaA, "rsa-a", nil)),
		ok("valid/RSA-OAEP-256 A256GCM (jwx)", jwxEncrypt(t, payload, jwa.RSA_OAEP_256, jwa.A256GCM, rsaB, "rsa-b", "")),
		ok("valid/RSA-OAEP A128GCM (jwx)", jwxEncrypt(t, payload, jwa.RSA_OAEP, jwa.A128GCM, rsaA, "rsa-a", "")),
		ok("valid/ECDH-ES P-256 (go-jose)", josetest.Encrypt(t, payload, gojose.ECDH_ES, gojose.A256GCM, ec, "ec-a", nil)),
		ok("valid/ECDH-ES+A256KW P-256 (go-jose)", josetest.Encrypt(t, payload, gojose.ECDH_ES_A256KW, gojose.A128GCM, ec, "ec-a", nil)),
		ok("valid/ECDH-ES+A128KW P-256 without kid skips the X25519 key (go-jose)", josetest.Encrypt(t, payload, gojose.ECDH_ES_A128KW, gojose.A192GCM, ec, "", nil)),
		ok("valid/ECDH-ES+A256KW P-256 (jwx)", jwxEncrypt(t, payload, jwa.ECDH_ES_A256KW, jwa.A256GCM, ec, "ec-a", "")),
		ok("valid/ECDH-ES X25519 (jwx)", jwxEncrypt(t, payload, jwa.ECDH_ES, jwa.A256GCM, f.xPub, "x-a", "")),
		ok("valid/ECDH-ES+A256KW X25519 without kid (jwx)", jwxEncrypt(t, payload, jwa.ECDH_ES_A256KW, jwa.A128GCM, f.xPub, "", "")),

		{name: "kid/selects that key only", token: josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A256GCM, rsaB, "rsa-a", nil),
			want: ErrDecryption, keyOps: 1},
		{name: "kid/unknown", token: josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A256GCM, rsaA, "rsa-z", nil),
			want: ErrUnknownKeyID, beforeKeyOp: true},
		{name: "kid/empty string names no key", token: rewriteHeader(t, valid, func(h map[string]any) { h["kid"] = "" }),
			want: ErrUnknownKeyID, beforeKeyOp: true},
		{name: "kid/none tries each key", token: josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A256GCM, rsaB, "", nil),
			keyOps: 2, check: wantClaim("sub", `"ada"`)},

		{name: "decrypt/wrong RSA key", token: josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A256GCM, attacker, "", nil),
			want: ErrDecryption, keyOps: 2},
		{name: "decrypt/wrong EC key", token: josetest.Encrypt(t, payload, gojose.ECDH_ES, gojose.A256GCM, &f.untrustedEC.PublicKey, "ec-a", nil),
			want: ErrDecryption, keyOps: 1},
		{name: "decrypt/tampered encrypted key", token: josetest.MutatePart(t, valid, 1, josetest.FlipLastByte), want: ErrDecryption, keyOps: 1},
		{name: "decrypt/tampered iv", token: josetest.MutatePart(t, valid, 2, josetest.FlipLastByte), want: ErrDecryption, keyOps: 1},
		{name: "decrypt/tampered ciphertext", token: josetest.MutatePart(t, valid, 3, josetest.FlipLastByte), want: ErrDecryption, keyOps: 1},
		{name: "decrypt/tampered tag", token: josetest.MutatePart(t, valid, 4, josetest.FlipLastByte), want: ErrDecryption, keyOps: 1},
		{name: "decrypt/truncated tag", token: josetest.MutatePart(t, valid, 4, func(b []byte) []byte { return b[:12] }), want: ErrDecryption},
		{name: "decrypt/tampered protected header", token: rewriteHeader(t, valid, func(h map[string]any) { h["x"] = "y" }),
			want: ErrDecryption, keyOps: 1},
		// jwx v2.1.7 panics on an empty wrapped key: it never gets one.
		{name: "decrypt/ECDH-ES+A256KW with an empty encrypted key", token: replacePart(josetest.Encrypt(t, payload, gojose.ECDH_ES_A256KW, gojose.A256GCM, ec, "ec-a", nil), 1, ""),
			want: ErrEncryptedKey, beforeKeyOp: true},
		{name: "decrypt/RSA-OAEP with an empty encrypted key", token: replacePart(josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A256GCM, rsaA, "rsa-a", nil), 1, ""),
			want: ErrEncryptedKey, beforeKeyOp: true},
		// jwx ignores the encrypted key of direct ECDH-ES: each filling
		// would be another spelling of one valid token.
		{name: "decrypt/ECDH-ES with an encrypted key part", token: replacePart(josetest.Encrypt(t, payload, gojose.ECDH_ES, gojose.A256GCM, ec, "ec-a", nil), 1, "AAAA"),
			want: ErrEncryptedKey, beforeKeyOp: true},
		{name: "decrypt/X25519 ECDH-ES with an encrypted key part", token: replacePart(jwxEncrypt(t, payload, jwa.ECDH_ES, jwa.A256GCM, f.xPub, "x-a", ""), 1, "AAAA"),
			want: ErrEncryptedKey, beforeKeyOp: true},
		{name: "decrypt/tampered ECDH-ES ciphertext", token: josetest.MutatePart(t, josetest.Encrypt(t, payload, gojose.ECDH_ES, gojose.A256GCM, ec, "ec-a", nil), 3, josetest.FlipLastByte),
			want: ErrDecryption, keyOps: 1},

		{name: "foreign keys/jwk, jku, x5u of an attacker key are not used", token: josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A256GCM, attacker, "", foreign),
			want: ErrDecryption, keyOps: 2},
		{name: "foreign keys/jwk of an attacker EC key is not used", token: josetest.Encrypt(t, payload, gojose.ECDH_ES, gojose.A256GCM, &f.untrustedEC.PublicKey, "",
			map[gojose.HeaderKey]any{"jwk": gojose.JSONWebKey{Key: &f.untrustedEC.PublicKey}}), want: ErrDecryption, keyOps: 1},
		ok("foreign keys/present but ignored when the token is for our key", josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A256GCM, rsaA, "rsa-a", foreign)),

		{name: "epk/off the curve", token: offCurveEPK(t, josetest.Encrypt(t, payload, gojose.ECDH_ES, gojose.A256GCM, ec, "ec-a", nil)),
			want: ErrInvalidEphemeralKey, beforeKeyOp: true},
		{name: "epk/off the curve without kid", token: offCurveEPK(t, josetest.Encrypt(t, payload, gojose.ECDH_ES_A256KW, gojose.A256GCM, ec, "", nil)),
			want: ErrInvalidEphemeralKey, beforeKeyOp: true},
		{name: "epk/P-384 for a P-256 key", token: josetest.Encrypt(t, payload, gojose.ECDH_ES, gojose.A256GCM, &p384.PublicKey, "ec-a", nil),
			want: ErrInvalidEphemeralKey, beforeKeyOp: true},
		{name: "epk/P-384 without kid fits no key", token: josetest.Encrypt(t, payload, gojose.ECDH_ES, gojose.A256GCM, &p384.PublicKey, "", nil),
			want: ErrInvalidEphemeralKey, beforeKeyOp: true},
		{name: "epk/X25519 for a P-256 key (jwx)", token: jwxEncrypt(t, payload, jwa.ECDH_ES, jwa.A256GCM, f.xPub, "ec-a", ""),
			want: ErrInvalidEphemeralKey, beforeKeyOp: true},
		{name: "epk/P-256 for the X25519 key", token: josetest.Encrypt(t, payload, gojose.ECDH_ES, gojose.A256GCM, ec, "x-a", nil),
			want: ErrInvalidEphemeralKey, beforeKeyOp: true},
		{name: "epk/missing", token: replacePart(handBuiltJWE(t, map[string]any{"alg": "ECDH-ES", "enc": "A256GCM", "kid": "ec-a"}), 1, ""),
			want: ErrInvalidEphemeralKey, beforeKeyOp: true},
		{name: "epk/member names in other letter case", token: rewriteHeader(t, josetest.Encrypt(t, payload, gojose.ECDH_ES, gojose.A256GCM, ec, "ec-a", nil), func(h map[string]any) {
			epk := h["epk"].(map[string]any)
			epk["KTY"], epk["CRV"] = epk["kty"], epk["crv"]
			delete(epk, "kty")
			delete(epk, "crv")
		}), want: ErrInvalidEphemeralKey, beforeKeyOp: true},
		{name: "epk/x in other letter case", token: rewriteHeader(t, josetest.Encrypt(t, payload, gojose.ECDH_ES, gojose.A256GCM, ec, "ec-a", nil), func(h map[string]any) {
			epk := h["epk"].(map[string]any)
			epk["X"] = epk["x"]
			delete(epk, "x")
		}), want: ErrInvalidEphemeralKey, beforeKeyOp: true},
		{name: "epk/short x", token: rewriteHeader(t, josetest.Encrypt(t, payload, gojose.ECDH_ES, gojose.A256GCM, ec, "ec-a", nil), func(h map[string]any) {
			h["epk"].(map[string]any)["x"] = josetest.B64(make([]byte, 31))
		}), want: ErrInvalidEphemeralKey, beforeKeyOp: true},
	}
}

func verifyTimeCases(t *testing.T, f *verifyFixture) []verifyCase {
	now := testNow.Unix()
	leeway := int64(testLeeway / time.Second)
	seal := func(payload string) string { return f.seal(t, []byte(payload)) }
	ok := func(name, payload string) verifyCase { return verifyCase{name: name, token: seal(payload), keyOps: 1} }
	bad := func(name, payload string, want error) verifyCase {
		return verifyCase{name: name, token: seal(payload), want: want, keyOps: 1}
	}
	return []verifyCase{
		ok("time/valid", payloadAt(now, now+3600, "")),
		bad("time/expired", payloadAt(now-7200, now-3600, ""), ErrExpired),
		bad("time/iat in the future beyond leeway", payloadAt(now+leeway+1, now+3600, ""), ErrNotYetValid),
		ok("time/iat in the future within leeway", payloadAt(now+10, now+3600, "")),
		ok("time/iat exactly at now+leeway", payloadAt(now+leeway, now+3600, "")),
		bad("time/iat just after now+leeway", payloadAt(fmt.Sprintf("%d.5", now+leeway), now+3600, ""), ErrNotYetValid),
		bad("time/exp equal to iat", payloadAt(now, now, ""), ErrExpired),
		bad("time/exp before iat", payloadAt(now, now-1, ""), ErrExpired),
		bad("time/exp exactly at now-leeway", payloadAt(now-100, now-leeway, ""), ErrExpired),
		ok("time/exp one second after now-leeway", payloadAt(now-100, now-leeway+1, "")),
		ok("time/exp half a second after now-leeway", payloadAt(now-100, fmt.Sprintf("%d.5", now-leeway), "")),
		bad("time/exp a string", payloadAt(now, fmt.Sprintf(`"%d"`, now+3600), ""), ErrInvalidTimeClaim),
		bad("time/exp a boolean", payloadAt(now, "true", ""), ErrInvalidTimeClaim),
		bad("time/exp null", payloadAt(now, "null", ""), ErrInvalidTimeClaim),
		bad("time/exp an object", payloadAt(now, `{"t":1}`, ""), ErrInvalidTimeClaim),
		bad("time/exp missing", fmt.Sprintf(`{"iat":%d}`, now), ErrInvalidTimeClaim),
		bad("time/exp huge (1e300)", payloadAt(now, "1e300", ""), ErrInvalidTimeClaim),
		bad("time/exp beyond 64-bit seconds (1e19)", payloadAt(now, "1e19", ""), ErrInvalidTimeClaim),
		bad("time/exp negative", payloadAt(now, -1, ""), ErrExpired),
		bad("time/iat a numeric string", payloadAt(`"1700000000"`, now+3600, ""), ErrInvalidTimeClaim),
		bad("time/iat missing", fmt.Sprintf(`{"exp":%d}`, now+3600), ErrInvalidTimeClaim),
		bad("time/iat hugely negative", payloadAt("-1e300", now+3600, ""), ErrInvalidTimeClaim),
		bad("time/nbf in the future beyond leeway", payloadAt(now, now+3600, fmt.Sprintf(`"nbf":%d`, now+leeway+1)), ErrNotYetValid),
		ok("time/nbf in the future within leeway", payloadAt(now, now+3600, fmt.Sprintf(`"nbf":%d`, now+leeway))),
		ok("time/nbf in the past", payloadAt(now, now+3600, fmt.Sprintf(`"nbf":%d`, now-600))),
		bad("time/nbf a string", payloadAt(now, now+3600, fmt.Sprintf(`"nbf":"%d"`, now)), ErrInvalidTimeClaim),
		bad("time/nbf null", payloadAt(now, now+3600, `"nbf":null`), ErrInvalidTimeClaim),
		{name: "time/the clock is the verifier's", token: seal(payloadAt(now, now+3600, "")),
			opts: []verifierOption{withClock(func() time.Time { return testNow.Add(2 * time.Hour) })}, want: ErrExpired},
	}
}

func verifyPayloadCases(t *testing.T, f *verifyFixture) []verifyCase {
	now := testNow.Unix()
	seal := func(payload string) string { return f.seal(t, []byte(payload)) }
	bad := func(name, payload string, want error) verifyCase {
		return verifyCase{name: name, token: seal(payload), want: want, keyOps: 1}
	}
	audience := []verifierOption{withAudience("api://other", testAudience)}
	aud := func(name, member string, want error) verifyCase {
		return verifyCase{name: name, token: seal(validPayload(member)), opts: audience, want: want, keyOps: 1}
	}
	return []verifyCase{
		bad("payload/array", `[{"iat":1,"exp":2}]`, ErrPayloadNotJSON),
		bad("payload/string", `"hello"`, ErrPayloadNotJSON),
		bad("payload/number", `42`, ErrPayloadNotJSON),
		bad("payload/null", `null`, ErrPayloadNotJSON),
		bad("payload/prose", `Hello, this is not JSON at all`, ErrPayloadNotJSON),
		// jwx refuses an empty ciphertext itself; unwrapPayload is tested with
		// an empty plaintext in TestVerifierUnwrapPayload.
		bad("payload/empty", ``, ErrDecryption),
		bad("payload/invalid UTF-8", validPayload("\"name\":\"Ada \xff\""), ErrPayloadNotJSON),
		bad("payload/trailing data", validPayload("")+` {}`, ErrPayloadNotJSON),
		bad("payload/truncated object", validPayload("")[:20], ErrPayloadNotJSON),

		{name: "data/claims come from data", token: seal(validPayload(`"data":{"email":"ada@example.com","name":"Ada"}`)),
			check: func(t *testing.T, got *VerifiedToken) {
				wantClaim("email", `"ada@example.com"`)(t, got)
				if _, ok := got.Claims["iat"]; ok {
					t.Errorf("claims hold the top-level iat: %s", got.ClaimsJSON)
				}
				if string(got.ClaimsJSON) != `{"email":"ada@example.com","name":"Ada"}` {
					t.Errorf("claims JSON %s", got.ClaimsJSON)
				}
				if got.exp != float64(now+3600) {
					t.Errorf("exp %v, want the top-level one", got.exp)
				}
			}},
		{name: "data/the payload keeps its own members beside data", token: seal(validPayload(`"scope":"mcp","data":{"scope":"mcp admin"}`)),
			check: func(t *testing.T, got *VerifiedToken) {
				wantClaim("scope", `"mcp admin"`)(t, got)
				if raw := got.Payload["scope"]; string(raw) != `"mcp"` {
					t.Errorf("payload scope %s, want the top-level one", raw)
				}
			}},
		{name: "data/without data the payload is the claims", token: seal(validPayload(`"scope":"mcp"`)),
			check: func(t *testing.T, got *VerifiedToken) {
				if raw := got.Payload["scope"]; string(raw) != `"mcp"` {
					t.Errorf("payload scope %s", raw)
				}
			}},
		{name: "data/iat and exp are read top-level, not from data",
			token: seal(validPayload(fmt.Sprintf(`"data":{"iat":"soon","exp":%d,"name":"Ada"}`, now-100000))), check: wantClaim("name", `"Ada"`)},
		bad("data/an expired top-level exp is not rescued by data", payloadAt(now-7200, now-3600, fmt.Sprintf(`"data":{"iat":%d,"exp":%d}`, now, now+3600)), ErrExpired),
		{name: "data/empty object gives empty claims", token: seal(validPayload(`"data":{}`)),
			check: func(t *testing.T, got *VerifiedToken) {
				if len(got.Claims) != 0 {
					t.Errorf("claims %s, want none", got.ClaimsJSON)
				}
			}},
		bad("data/a string", validPayload(`"data":"ada"`), ErrInvalidData),
		bad("data/an array", validPayload(`"data":[{"name":"Ada"}]`), ErrInvalidData),
		bad("data/null", validPayload(`"data":null`), ErrInvalidData),
		bad("data/a number", validPayload(`"data":1`), ErrInvalidData),

		bad("duplicate/top level", validPayload(`"sub":"ada","sub":"eve"`), ErrDuplicateMember),
		bad("duplicate/exp at top level", validPayload(fmt.Sprintf(`"exp":%d`, now+7200)), ErrDuplicateMember),
		bad("duplicate/nested in data", validPayload(`"data":{"name":"Ada","name":"Eve"}`), ErrDuplicateMember),
		bad("duplicate/nested deeper", validPayload(`"data":{"org":{"units":[{"id":1,"id":2}]}}`), ErrDuplicateMember),
		bad("duplicate/case variant", fmt.Sprintf(`{"EXP":1,"exp":%d,"iat":%d}`, now+3600, now), ErrDuplicateMember),
		bad("duplicate/escaped spelling", validPayload(`"sub":"ada","\u0073ub":"eve"`), ErrDuplicateMember),
		bad("duplicate/long s folds to s as in encoding/json", validPayload(`"sub":"ada","ſub":"eve"`), ErrDuplicateMember),
		{name: "duplicate/same name in sibling objects is fine", token: seal(validPayload(`"a":{"id":1},"b":{"id":2},"c":[{"id":1},{"id":2}]`)), keyOps: 1},

		aud("audience/string match", `"aud":"`+testAudience+`"`, nil),
		aud("audience/array match", `"aud":["api://x","`+testAudience+`"]`, nil),
		aud("audience/mismatch", `"aud":"api://x"`, ErrAudience),
		aud("audience/array mismatch", `"aud":["api://x","api://y"]`, ErrAudience),
		aud("audience/missing", "", ErrAudience),
		aud("audience/wrong type", `"aud":42`, ErrAudience),
		aud("audience/array of non-strings", `"aud":[42]`, ErrAudience),
		aud("audience/empty array", `"aud":[]`, ErrAudience),
		aud("audience/read top-level, not from data", `"data":{"aud":"`+testAudience+`"}`, ErrAudience),
		{name: "audience/not configured: aud not checked", token: seal(validPayload(`"aud":42`)), keyOps: 1},
	}
}

func verifyNestedCases(t *testing.T, f *verifyFixture) []verifyCase {
	signed := f.signedClaims(t, nil)
	issuerMode := []verifierOption{withIssuers(f.issuers), withAudience(testAudience)}
	nested := func(name, jwsToken string, want error) verifyCase {
		c := verifyCase{name: name, token: f.sealNested(t, jwsToken), opts: issuerMode, want: want, keyOps: 1}
		if want == nil {
			c.check = wantClaim("sub", `"ada"`)
		}
		return c
	}
	rs256 := josetest.Sign(t, signed, gojose.RS256, f.issuerRSA, "iss-rsa")
	rs256Parts := tokenParts(rs256)
	other := josetest.B64(f.signedClaims(t, map[string]any{"sub": "eve"}))
	now := testNow.Unix()
	p384 := josetest.NewECKey(t, elliptic.P384())
	return []verifyCase{
		nested("jws/RS256 by a trusted key (go-jose)", rs256, nil),
		nested("jws/PS256 by a trusted key (jwx)", jwxSign(t, signed, jwa.PS256, f.issuerRSA, "iss-rsa"), nil),
		nested("jws/PS256 by a trusted key (go-jose)", josetest.Sign(t, signed, gojose.PS256, f.issuerRSA, "iss-rsa"), nil),
		nested("jws/ES256 by a trusted key (go-jose)", josetest.Sign(t, signed, gojose.ES256, f.issuerEC, "iss-ec"), nil),
		nested("jws/EdDSA by a trusted key (jwx)", jwxSign(t, signed, jwa.EdDSA, f.issuerEd, "iss-ed"), nil),
		nested("jws/EdDSA by a trusted key without kid (go-jose)", josetest.Sign(t, signed, gojose.EdDSA, f.issuerEd, ""), nil),
		nested("jws/RS256 without kid tries each issuer key", josetest.Sign(t, signed, gojose.RS256, f.issuerRSAB, ""), nil),
		{name: "jws/signed and encrypted by jwx", opts: issuerMode, keyOps: 1, check: wantClaim("sub", `"ada"`),
			token: jwxEncrypt(t, []byte(jwxSign(t, signed, jwa.ES256, f.issuerEC, "iss-ec")), jwa.ECDH_ES_A256KW, jwa.A256GCM, &f.ec.PublicKey, "ec-a", "JWT")},
		{name: "jws/claims come from data of the signed payload", opts: issuerMode, keyOps: 1, check: wantClaim("email", `"ada@example.com"`),
			token: f.sealNested(t, josetest.Sign(t, f.signedClaims(t, map[string]any{"data": map[string]any{"email": "ada@example.com"}}), gojose.RS256, f.issuerRSA, "iss-rsa"))},

		nested("jws/signed by an untrusted EC key", josetest.Sign(t, signed, gojose.ES256, f.untrustedEC, ""), ErrSignature),
		nested("jws/signed by an untrusted RSA key under a trusted kid", josetest.Sign(t, signed, gojose.RS256, f.rsaA, "iss-rsa"), ErrSignature),
		nested("jws/embedded attacker jwk is not used", josetest.SignOpts(t, signed, gojose.ES256, f.untrustedEC, "",
			&gojose.SignerOptions{EmbedJWK: true}), ErrSignature),
		nested("jws/jku of an attacker is not used", josetest.SignOpts(t, signed, gojose.ES256, f.untrustedEC, "",
			(&gojose.SignerOptions{}).WithHeader("jku", "https://attacker.example/jwks.json")), ErrSignature),
		nested("jws/tampered payload", strings.Join([]string{rs256Parts[0], other, rs256Parts[2]}, "."), ErrSignature),
		nested("jws/tampered signature", josetest.MutatePart(t, rs256, 2, josetest.FlipLastByte), ErrSignature),
		nested("jws/HS256 is symmetric", josetest.Sign(t, signed, gojose.HS256, make([]byte, 32), ""), ErrAlgorithmNotAllowed),
		nested("jws/alg none", encodeHeader(t, map[string]any{"alg": "none"})+"."+josetest.B64(signed)+".", ErrAlgorithmNotAllowed),
		nested("jws/ES256 header with an RSA issuer key's kid", josetest.Sign(t, signed, gojose.ES256, f.issuerEC, "iss-rsa"), ErrNoMatchingKey),
		nested("jws/RS256 header with the Ed25519 issuer key's kid", josetest.Sign(t, signed, gojose.RS256, f.issuerRSA, "iss-ed"), ErrNoMatchingKey),
		nested("jws/ES384 fits no issuer key", josetest.Sign(t, signed, gojose.ES384, p384, ""), ErrNoMatchingKey),
		nested("jws/kid selects that issuer key only", josetest.Sign(t, signed, gojose.RS256, f.issuerRSA, "iss-rsa-b"), ErrSignature),
		nested("jws/unknown issuer kid", josetest.Sign(t, signed, gojose.RS256, f.issuerRSA, "iss-zzz"), ErrUnknownKeyID),
		nested("jws/b64 false", rawJWS(t, map[string]any{"alg": "RS256", "kid": "iss-rsa", "b64": false},
			josetest.B64(signed), rsaSHA256Signer(t, f.issuerRSA)), ErrUnencodedPayload),
		nested("jws/b64 false with crit", rawJWS(t, map[string]any{"alg": "RS256", "kid": "iss-rsa", "b64": false, "crit": []string{"b64"}},
			josetest.B64(signed), rsaSHA256Signer(t, f.issuerRSA)), ErrCriticalHeader),
		nested("jws/zip", josetest.SignOpts(t, signed, gojose.RS256, f.issuerRSA, "iss-rsa",
			(&gojose.SignerOptions{}).WithHeader("zip", "DEF")), ErrCompressed),
		nested("jws/crit", josetest.SignOpts(t, signed, gojose.RS256, f.issuerRSA, "iss-rsa",
			(&gojose.SignerOptions{}).WithCritical("exp").WithHeader("exp", now+3600)), ErrCriticalHeader),
		nested("jws/duplicate header member", josetest.B64([]byte(`{"alg":"RS256","alg":"HS256"}`))+"."+rs256Parts[1]+"."+rs256Parts[2],
			ErrMalformedHeader),
		nested("jws/padding in the signature", rs256+"==", ErrNotCompact),
		nested("jws/payload expired", josetest.Sign(t, f.signedClaims(t, map[string]any{"iat": now - 7200, "exp": now - 3600}), gojose.RS256, f.issuerRSA, "iss-rsa"), ErrExpired),
		nested("jws/payload without aud", josetest.Sign(t, f.claims(t, nil), gojose.RS256, f.issuerRSA, "iss-rsa"), ErrAudience),
		nested("jws/payload with a duplicate member", josetest.Sign(t, []byte(validPayload(`"aud":"`+testAudience+`","sub":"a","sub":"b"`)), gojose.RS256, f.issuerRSA, "iss-rsa"), ErrDuplicateMember),
		nested("jws/payload not JSON", josetest.Sign(t, []byte("not json"), gojose.RS256, f.issuerRSA, "iss-rsa"), ErrPayloadNotJSON),
		nested("jws/payload another JWS", josetest.Sign(t, []byte(rs256), gojose.RS256, f.issuerRSA, "iss-rsa"), ErrPayloadNotJSON),

		{name: "mode/nested JWS without issuer_keys", token: f.sealNested(t, rs256), want: ErrNestedNotConfigured, keyOps: 1},
		{name: "mode/encrypted-only with issuer_keys", token: f.seal(t, signed), opts: issuerMode, want: ErrUnsignedToken, keyOps: 1},
		{name: "mode/encrypted-only with leading white space and issuer_keys", token: f.seal(t, append([]byte("\n "), signed...)), opts: issuerMode,
			want: ErrUnsignedToken, keyOps: 1},
	}
}

// TestVerifierUnwrapPayload covers plaintexts that no library will encrypt
// for us, and the choice between encrypted-only and nested tokens.
func TestVerifierUnwrapPayload(t *testing.T) {
	f := newVerifyFixture(t)
	unsigned := newTestVerifier(t, f.keys)
	signed := newTestVerifier(t, f.keys, withIssuers(f.issuers))
	jws := josetest.Sign(t, f.claims(t, nil), gojose.RS256, f.issuerRSA, "iss-rsa")
	for _, tc := range []struct {
		name      string
		v         *Verifier
		plaintext string
		want      error
	}{
		{"empty", unsigned, "", ErrPayloadNotJSON},
		{"white space only", unsigned, " \n", ErrPayloadNotJSON},
		{"object without issuer_keys", unsigned, "{}", nil},
		{"object with issuer_keys", signed, "{}", ErrUnsignedToken},
		{"JWS without issuer_keys", unsigned, jws, ErrNestedNotConfigured},
		{"JWS with issuer_keys", signed, jws, nil},
		{"four dots with issuer_keys", signed, jws + ".x", ErrPayloadNotJSON},
		{"two dots but no JWS", signed, "a.b.c", ErrNotCompact},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.v.unwrapPayload([]byte(tc.plaintext))
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
