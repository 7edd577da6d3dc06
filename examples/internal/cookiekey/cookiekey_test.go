package cookiekey

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		size int // 0: an error
	}{
		{"32 bytes", strings.Repeat("ab", 32), 32},
		{"64 bytes", strings.Repeat("0f", 64), 64},
		{"16 bytes", strings.Repeat("ab", 16), 0},
		{"not hex", strings.Repeat("zz", 32), 0},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := Parse(tt.in)
			if tt.size == 0 {
				if err == nil {
					t.Errorf("Parse(%q) = %d bytes, nil, want an error", tt.in, len(key))
				}
				return
			}
			if err != nil || len(key) != tt.size {
				t.Errorf("Parse(%q) = %d bytes, %v, want %d bytes, nil", tt.in, len(key), err, tt.size)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(Env, "")
	a, err := FromEnv()
	if err != nil || len(a) != 32 {
		t.Fatalf("FromEnv() without %s = %d bytes, %v, want 32 random bytes", Env, len(a), err)
	}
	if b, _ := FromEnv(); string(a) == string(b) {
		t.Errorf("FromEnv() without %s gave the same key twice", Env)
	}

	t.Setenv(Env, strings.Repeat("01", 32))
	if key, err := FromEnv(); err != nil || key[0] != 1 || len(key) != 32 {
		t.Errorf("FromEnv() with %s set = %x, %v, want 32 bytes of 01", Env, key, err)
	}
}
