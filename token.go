package sqlsession

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// MaxTokenLength is the longest token a [Store] accepts, in bytes.
const MaxTokenLength = 255

// NewToken returns a new random session token: 256 bits from crypto/rand,
// URL-safe base64 without padding (43 characters). It is safe in cookies and
// URLs, and valid for every [Store] method.
func NewToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails: see [rand.Read]
	return b64.EncodeToString(b[:])
}

// ValidToken reports whether a [Store] accepts token: 1 to [MaxTokenLength]
// bytes of printable ASCII (0x21 to 0x7E), which covers cookie values, UUIDs
// and base64 or hex strings.
func ValidToken(token string) bool {
	if len(token) == 0 || len(token) > MaxTokenLength {
		return false
	}
	for i := 0; i < len(token); i++ {
		if token[i] < 0x21 || token[i] > 0x7e {
			return false
		}
	}
	return true
}

// Stored keys. With hashing on (the default) the key column holds
// base64url(SHA-256(token)), 43 characters, so a copy of the table yields no
// usable token. Listing sessions cannot give the tokens back, so it gives
// handles instead: "~" + digest + base64url(HMAC-SHA-256(k, digest)[:16]),
// where k is a random key of this Store's process. Find, Save, Touch and
// Delete accept a handle as if it were its token; a forged or foreign handle
// is treated as an ordinary token, whose digest matches nothing.
const (
	digestLen = 43 // base64url of 32 bytes
	macLen    = 22 // base64url of 16 bytes
	handleLen = 1 + digestLen + macLen
)

var b64 = base64.RawURLEncoding

// key maps a caller's token to the stored key, reporting false for a token
// that cannot name a session.
func (s *Store) key(token string) (string, bool) {
	if !ValidToken(token) {
		return "", false
	}
	if s.opts.PlainTokens {
		return s.q.key(token), true
	}
	if len(token) == handleLen && token[0] == '~' {
		digest := token[1 : 1+digestLen]
		if subtle.ConstantTimeCompare([]byte(token[1+digestLen:]), s.mac(digest)) == 1 {
			return s.q.key(digest), true
		}
	}
	return s.q.key(digest(token)), true
}

// digest returns base64url(SHA-256(token)) with one allocation, the
// result's: the token is hashed from a stack copy, the encoding written to a
// stack buffer.
func digest(token string) string {
	var in [MaxTokenLength]byte
	n := copy(in[:], token)
	sum := sha256.Sum256(in[:n])
	var out [digestLen]byte
	b64.Encode(out[:], sum[:])
	return string(out[:])
}

// publicKey maps a stored key to what listing returns: a key that Find,
// Save, Touch and Delete accept.
func (s *Store) publicKey(stored string) string {
	stored = stored[len(s.opts.Layout.KeyPrefix):]
	if s.opts.PlainTokens {
		return stored
	}
	return "~" + stored + string(s.mac(stored))
}

func (s *Store) mac(digest string) []byte {
	m := hmac.New(sha256.New, s.handleKey[:])
	m.Write([]byte(digest))
	sum := m.Sum(nil)
	out := make([]byte, macLen)
	b64.Encode(out, sum[:16])
	return out
}
