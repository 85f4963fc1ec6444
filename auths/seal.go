package auths

import (
	"crypto/sha256"
	"encoding/hex"
)

// sealToken hides a session's cookie value under a key only the browser
// that made the login holds (its binding cookie) and that is never reused
// (the login's state), so a duplicate callback from that browser can join
// the session, while the database alone cannot hand it out. The key is as
// long as the value: a one-time pad.
func sealToken(token, binding, state string) string {
	key := sealKey(binding, state)
	out := make([]byte, len(token))
	for i := range out {
		out[i] = token[i] ^ key[i]
	}
	return hex.EncodeToString(out)
}

// unsealToken reverses sealToken; false when the seal is not one.
func unsealToken(sealed, binding, state string) (string, bool) {
	raw, err := hex.DecodeString(sealed)
	if err != nil || len(raw) != tokenLen {
		return "", false
	}
	key := sealKey(binding, state)
	for i := range raw {
		raw[i] ^= key[i]
	}
	return string(raw), validToken(string(raw), tokenLen)
}

func sealKey(binding, state string) [sha256.Size]byte {
	return sha256.Sum256([]byte("jit duplicate session\x00" + binding + "\x00" + state))
}
