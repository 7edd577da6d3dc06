package demo

import (
	"testing"
	"time"
)

func TestDescribeAgent(t *testing.T) {
	t.Parallel()
	tests := []struct{ ua, want string }{
		{"", "Unknown device"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "Headless Chrome 156 on Linux"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome 131 on Android"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "Safari 17 on iPhone"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge 131 on Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:132.0) Gecko/20100101 Firefox/132.0", "Firefox 132 on macOS"},
		{"curl/8.5.0", "curl 8"},
		{"something else", "Unknown browser"},
	}
	for _, tt := range tests {
		if got := describeAgent(tt.ua); got != tt.want {
			t.Errorf("describeAgent(%q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
}

func TestRelative(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "never"},
		{now.Add(-10 * time.Second), "just now"},
		{now.Add(10 * time.Second), "in a moment"},
		{now.Add(-time.Minute), "1 minute ago"},
		{now.Add(-59 * time.Minute), "59 minutes ago"},
		{now.Add(3 * time.Hour), "in 3 hours"},
		{now.Add(30*24*time.Hour - time.Second), "in 30 days"},
		{now.Add(-50 * time.Hour), "2 days ago"},
	}
	for _, tt := range tests {
		if got := relative(tt.t, now); got != tt.want {
			t.Errorf("relative(now%+v) = %q, want %q", tt.t.Sub(now), got, tt.want)
		}
	}
}

func TestCleanAgent(t *testing.T) {
	t.Parallel()
	long := make([]byte, 400)
	for i := range long {
		long[i] = 'a'
	}
	tests := []struct{ in, want string }{
		{"Mozilla/5.0 (X11)", "Mozilla/5.0 (X11)"},
		{"tab\there\x00é", "tabhere"},
		{string(long), string(long[:255])},
	}
	for _, tt := range tests {
		if got := cleanAgent(tt.in); got != tt.want {
			t.Errorf("cleanAgent(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
