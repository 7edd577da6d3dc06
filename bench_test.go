package sqlsession

import (
	"testing"
)

// BenchmarkKey bounds the per-operation cost of mapping a token to its
// stored key (SHA-256 and base64url): one allocation, the key.
func BenchmarkKey(b *testing.B) {
	for _, tt := range []struct {
		name string
		opts Options
		tok  string
	}{
		{"hashed", Options{}, NewToken()},
		{"plain", Options{PlainTokens: true}, NewToken()},
	} {
		b.Run(tt.name, func(b *testing.B) {
			s := newTestStore(b, tt.opts)
			b.ReportAllocs()
			for b.Loop() {
				s.key(tt.tok)
			}
		})
	}
}

// BenchmarkSeal bounds the cost of encryption at rest per save and find,
// by session size.
func BenchmarkSeal(b *testing.B) {
	c := mustCrypter(b, NewKey())
	for _, size := range []int{200, 4 << 10, 64 << 10} {
		data := make([]byte, size)
		sealed := c.seal("row", data)
		b.Run("seal/n="+itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				c.seal("row", data)
			}
		})
		b.Run("open/n="+itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				c.open("row", sealed)
			}
		})
	}
}

func itoa(n int) string {
	if n >= 1<<10 {
		return itoa(n>>10) + "KiB"
	}
	d := []byte{}
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}
