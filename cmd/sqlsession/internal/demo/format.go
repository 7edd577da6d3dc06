package demo

import (
	"fmt"
	"strings"
	"time"
)

// describeAgent names the browser and system of a User-Agent header, such as
// "Chrome 120 on Android": enough to tell one's devices apart, not a full
// parser.
func describeAgent(ua string) string {
	if ua == "" {
		return "Unknown device"
	}
	browser := "Unknown browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"},
		{"OPR/", "Opera"},
		{"Firefox/", "Firefox"},
		{"HeadlessChrome/", "Headless Chrome"},
		{"Chrome/", "Chrome"},
		{"CriOS/", "Chrome"},
		{"Version/", "Safari"},
		{"curl/", "curl"},
		{"Go-http-client/", "Go"},
	} {
		if _, rest, ok := strings.Cut(ua, b.token); ok {
			browser = b.name
			if major, _, _ := strings.Cut(rest, "."); major != "" && len(major) <= 4 && strings.Trim(major, "0123456789") == "" {
				browser += " " + major
			}
			break
		}
	}
	for _, s := range []struct{ token, name string }{
		{"Android", "Android"},
		{"iPhone", "iPhone"},
		{"iPad", "iPad"},
		{"CrOS", "ChromeOS"},
		{"Windows", "Windows"},
		{"Mac OS X", "macOS"},
		{"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.token) {
			return browser + " on " + s.name
		}
	}
	return browser
}

// relative says how long before or after now t is, for people: "just now",
// "5 minutes ago", "in 7 days".
func relative(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := t.Sub(now)
	future := d > 0
	if !future {
		d = -d
	}
	if d < time.Minute {
		if future {
			return "in a moment"
		}
		return "just now"
	}
	var n int
	var unit string
	switch {
	case d < time.Hour:
		n, unit = int(d/time.Minute), "minute"
	case d < 48*time.Hour:
		n, unit = int(d/time.Hour), "hour"
	default:
		n, unit = int((d+12*time.Hour)/(24*time.Hour)), "day"
	}
	s := fmt.Sprintf("%d %s", n, unit)
	if n != 1 {
		s += "s"
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// stamp is the exact time, for a tooltip.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02 15:04:05 MST")
}
