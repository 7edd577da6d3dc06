package sqlsession

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Encrypted data is an envelope:
//
//	version (1 byte, 1) | key id (4 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext and tag
//
// The key id is the first 4 bytes of SHA-256 of the key, so a reader finds
// the key without trying them all. The additional data is the row's stored
// key (the token digest), so data copied onto another row does not open.
const (
	envelopeVersion = 1
	keyIDLen        = 4
	nonceLen        = 12
	envelopeHeader  = 1 + keyIDLen + nonceLen
	// EncryptionOverhead is how many bytes encryption adds to each session.
	EncryptionOverhead = envelopeHeader + 16
)

var (
	// errCorrupt marks data that cannot be authentic: a malformed envelope,
	// or one that fails authentication under the key it names.
	errCorrupt = errors.New("sqlsession: corrupt session data")
	// errUnknownKey marks data sealed with a key this Store does not hold,
	// as during a rolling key rotation.
	errUnknownKey = errors.New("sqlsession: session sealed with an unknown key")
)

type sealKey struct {
	id   [keyIDLen]byte
	aead cipher.AEAD
}

// crypter seals and opens session data. The first key seals; all open.
type crypter struct{ keys []sealKey }

func newCrypter(keys [][]byte) (*crypter, error) {
	c := &crypter{}
	seen := map[[keyIDLen]byte]bool{}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("%w: Keys[%d] is %d bytes, want 32 (AES-256)", ErrInvalidOptions, i, len(k))
		}
		sum := sha256.Sum256(k)
		var id [keyIDLen]byte
		copy(id[:], sum[:])
		if seen[id] {
			return nil, fmt.Errorf("%w: Keys[%d] repeats an earlier key", ErrInvalidOptions, i)
		}
		seen[id] = true
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("%w: Keys[%d]: %v", ErrInvalidOptions, i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: Keys[%d]: %v", ErrInvalidOptions, i, err)
		}
		c.keys = append(c.keys, sealKey{id, aead})
	}
	return c, nil
}

// seal encrypts plain for the row with the given stored key.
func (c *crypter) seal(rowKey string, plain []byte) []byte {
	k := c.keys[0]
	out := make([]byte, envelopeHeader, envelopeHeader+len(plain)+k.aead.Overhead())
	out[0] = envelopeVersion
	copy(out[1:], k.id[:])
	nonce := out[1+keyIDLen : envelopeHeader]
	rand.Read(nonce)
	return k.aead.Seal(out, nonce, plain, []byte(rowKey))
}

// open decrypts sealed data of the row with the given stored key.
func (c *crypter) open(rowKey string, sealed []byte) ([]byte, error) {
	if len(sealed) < EncryptionOverhead || sealed[0] != envelopeVersion {
		return nil, errCorrupt
	}
	id := sealed[1 : 1+keyIDLen]
	for _, k := range c.keys {
		if string(k.id[:]) != string(id) {
			continue
		}
		nonce := sealed[1+keyIDLen : envelopeHeader]
		plain, err := k.aead.Open(nil, nonce, sealed[envelopeHeader:], []byte(rowKey))
		if err != nil {
			return nil, errCorrupt
		}
		if plain == nil {
			plain = []byte{}
		}
		return plain, nil
	}
	return nil, errUnknownKey
}

// NewKey returns a new random 32-byte key for [Options.Keys].
func NewKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}
