// Package josetest makes the keys, key files and tokens the module's tests
// use, with go-jose: a JOSE implementation independent of the token core,
// so a token the core accepts was not made by the code that checks it. The
// hand-built objects (HandJWE, HandSign) put any protected header, byte for
// byte, around real cryptography, so a refusal can only come from the
// header's content. The fuzz fixtures (FuzzKeys, FuzzTokens, FuzzOracle,
// the corpus files) and the bench fixtures (BenchRSA4096, BenchClaims,
// BenchSignedToken) serve the handler's and the token core's targets
// alike. The bad-input battery (Battery, BatteryCases, DPoPBatteryCases,
// CheckRefusal) and the other fixtures the module's unit tests share with
// its integration tests (ToolCall, IssuerToken, the Err*
// sentinel readers) live here too, so neither side copies them. Only tests
// import it.
package josetest
