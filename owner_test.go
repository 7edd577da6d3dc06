package sqlsession

import (
	"testing"
	"time"
)

type stringer struct{}

func (stringer) String() string { return "from String" }

type userID int

func TestOwnerString(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{nil, ""},
		{"alice", "alice"},
		{"", ""},
		{42, "42"},
		{int64(-7), "-7"},
		{uint8(3), "3"},
		{userID(9), "9"},
		{true, "true"},
		{1.5, "1.5"},
		{stringer{}, "from String"},
		{time.Duration(0), "0s"},
		{[]string{"a"}, ""},
		{map[string]int{}, ""},
		{struct{ A int }{1}, ""},
		{[]byte("raw"), ""},
	}
	for _, tt := range tests {
		if got := OwnerString(tt.v); got != tt.want {
			t.Errorf("OwnerString(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
