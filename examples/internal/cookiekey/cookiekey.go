// Package cookiekey gives the examples that sign their cookies
// (gorilla/sessions, gin, echo) their signing key.
package cookiekey

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
)

// Env is the environment variable that holds the key: 64 or 128 hex digits
// (32 or 64 bytes), such as the output of `openssl rand -hex 32`.
const Env = "SESSION_HASH_KEY"

// FromEnv returns the key in [Env]. When the variable is unset, it returns a
// new random key and logs that sessions will not outlive the process: their
// cookies are signed with a key the next process does not know.
func FromEnv() ([]byte, error) {
	v := os.Getenv(Env)
	if v == "" {
		slog.Warn(Env + " is not set: signing cookies with a random key, so sessions end when the server restarts")
		key := make([]byte, 32)
		rand.Read(key) // never fails
		return key, nil
	}
	return Parse(v)
}

// Parse decodes a key of 64 or 128 hex digits.
func Parse(s string) ([]byte, error) {
	key, err := hex.DecodeString(s)
	if err != nil || (len(key) != 32 && len(key) != 64) {
		return nil, fmt.Errorf("cookiekey: %s must be 64 or 128 hex digits (32 or 64 bytes)", Env)
	}
	return key, nil
}
