package browsertest

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	_ "modernc.org/sqlite"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/cmd/sqlsession/internal/demo"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// ChromiumVar names the Chromium binary the test drives.
const ChromiumVar = "SQLSESSION_TEST_CHROMIUM"

var update = flag.Bool("update", false, "write the screenshots of the devices page to docs/demo-devices.png and docs/demo-devices-phone.png")

var shots = flag.String("shots", "", "keep every screenshot in this `directory`")

// The screenshots in the README, from this directory.
var (
	screenshotFile      = filepath.Join("..", "..", "..", "..", "docs", "demo-devices.png")
	phoneScreenshotFile = filepath.Join("..", "..", "..", "..", "docs", "demo-devices-phone.png")
)

// phoneWidth is the viewport width of the phone, in CSS pixels: an iPhone
// 14 or a Pixel 8 held upright.
const phoneWidth = 390

// An Android phone's user agent, for the second browser: the two browsers
// are separate processes with separate profiles, and this makes them tell
// apart on the devices page the way a laptop and a phone would.
const phoneAgent = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"

// browser starts a headless Chromium with a fresh profile and returns a
// context for its tab. The browser ends with ctx or the test. With an
// agent, it is a phone: that user agent and a mobile viewport phoneWidth
// pixels wide.
func browser(t *testing.T, ctx context.Context, exe, agent string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// The machine has no network beyond loopback: without these
		// Chromium's own background connections are refused and slow it.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.WindowSize(960, 600),
	}
	if agent != "" {
		opts = append(opts, chromedp.UserAgent(agent))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(tab); err != nil { // starts the browser
		t.Fatalf("start %s: %v", exe, err)
	}
	if agent != "" {
		step(t, tab, "emulate a phone", chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	}
	return tab
}

// screenshot takes a screenshot of the whole page, keeps it in the test's
// directory and, with -update, writes it to file too.
func screenshot(t *testing.T, tab context.Context, name, file string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := *shots
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the %s: %s", name, shot)
	if *update && file != "" {
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", file)
	}
}

// layout is what checkPhoneLayout measures in the page.
type layout struct {
	ViewportWidth float64 `json:"viewportWidth"`
	PageWidth     float64 `json:"pageWidth"`    // of the whole document
	TableRight    float64 `json:"tableRight"`   // right edge of the devices table
	WidestRight   float64 `json:"widestRight"`  // right edge of the element that reaches furthest
	Widest        string  `json:"widest"`       // which element that is
	HeaderLines   int     `json:"headerLines"`  // distinct rows of the header's items
	WrappedItems  int     `json:"wrappedItems"` // header items broken over lines
	HeaderSpill   float64 `json:"headerSpill"`  // how far header items reach into its padding or beyond
}

// measureLayout is the JavaScript of checkPhoneLayout.
const measureLayout = `(() => {
	const vw = document.documentElement.clientWidth;
	let widestRight = 0, widest = "";
	for (const e of document.querySelectorAll("body *")) {
		const r = e.getBoundingClientRect();
		if (r.width > 0 && r.right > widestRight) {
			widestRight = r.right;
			widest = e.tagName.toLowerCase() + (e.className ? "." + e.className : "");
		}
	}
	const items = [...document.querySelectorAll("header .brand, header nav a, header nav button")];
	const tops = new Set(items.map(e => Math.round(e.getBoundingClientRect().top / 8)));
	const header = document.querySelector("header");
	const contentRight = header.getBoundingClientRect().right - parseFloat(getComputedStyle(header).paddingRight);
	const headerSpill = Math.max(0, ...items.map(e => e.getBoundingClientRect().right - contentRight));
	const table = document.querySelector("table.devices");
	return {
		viewportWidth: vw,
		pageWidth: document.documentElement.scrollWidth,
		tableRight: table ? table.getBoundingClientRect().right : 0,
		widestRight: widestRight,
		widest: widest,
		headerLines: tops.size,
		wrappedItems: items.filter(e => e.getClientRects().length > 1 || e.getBoundingClientRect().height > 40).length,
		headerSpill: headerSpill,
	};
})()`

// checkPhoneLayout checks that the page fits the phone's width, with no
// sideways scrolling, and that the header stays on one line.
func checkPhoneLayout(t *testing.T, tab context.Context, page string) {
	t.Helper()
	l := eval[layout](t, tab, measureLayout)
	if l.ViewportWidth != phoneWidth {
		t.Fatalf("%s: viewport %v px wide, want %d", page, l.ViewportWidth, phoneWidth)
	}
	if l.PageWidth > l.ViewportWidth || l.WidestRight > l.ViewportWidth+0.5 || l.TableRight > l.ViewportWidth+0.5 {
		t.Errorf("%s on a %d px phone: page %v px wide, devices table to %v px, %s to %v px; want all within the viewport",
			page, phoneWidth, l.PageWidth, l.TableRight, l.Widest, l.WidestRight)
	}
	if l.HeaderLines != 1 || l.WrappedItems != 0 {
		t.Errorf("%s on a %d px phone: header items on %d lines, %d wrapped; want one line", page, phoneWidth, l.HeaderLines, l.WrappedItems)
	}
	if l.HeaderSpill > 0.5 {
		t.Errorf("%s on a %d px phone: header items reach %.1f px into the header's padding; want them inside it", page, phoneWidth, l.HeaderSpill)
	}
}

// step runs browser actions, failing the test with what was being done.
func step(t *testing.T, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// failWriter fails the test with whatever the demo logs: only server
// errors are logged.
type failWriter struct{ t *testing.T }

func (w failWriter) Write(p []byte) (int, error) {
	w.t.Errorf("demo logged: %s", p)
	return len(p), nil
}

// TestTwoDevices signs in as one user from a laptop and a phone (390 px
// wide). The laptop sees both devices, a cross-origin form cannot sign the
// phone out, the laptop revokes the phone, and the phone's next page load
// is the sign-in page with a notice saying why. The phone's pages must fit
// its width, header on one line.
func TestTwoDevices(t *testing.T) {
	exe := os.Getenv(ChromiumVar)
	if exe == "" {
		testenv.Unavailable(t, "set %s to the path of a Chromium binary (such as /usr/bin/chromium) to run the browser test", ChromiumVar)
	}
	if _, err := os.Stat(exe); err != nil {
		testenv.Unavailable(t, "%s=%s: %v", ChromiumVar, exe, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "demo.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	app, err := demo.New(db, sqlsession.SQLite, demo.Options{Logger: slog.New(slog.NewTextHandler(failWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	if err := app.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	// Another origin, whose page posts a form to the demo.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/devices/logout-others"><button id="attack">Win a prize</button></form>`, srv.URL)
	}))
	t.Cleanup(evil.Close)

	laptop := browser(t, ctx, exe, "")
	phone := browser(t, ctx, exe, phoneAgent)
	for name, tab := range map[string]context.Context{"laptop": laptop, "phone": phone} {
		step(t, tab, name+": sign in",
			chromedp.Navigate(srv.URL),
			chromedp.WaitVisible(chromedp.ID("name")),
			chromedp.SendKeys(chromedp.ID("name"), "ada"),
			chromedp.Click(chromedp.ID("signin")),
			chromedp.WaitVisible(chromedp.ID("count")),
		)
		if got := eval[string](t, tab, `document.querySelector("h1").textContent`); got != "Hello, ada." {
			t.Fatalf("%s: heading after sign-in = %q, want %q", name, got, "Hello, ada.")
		}
		// The cookie is HttpOnly: the page's scripts cannot read it.
		if got := eval[string](t, tab, `document.cookie`); got != "" {
			t.Errorf("%s: document.cookie = %q, want it empty", name, got)
		}
	}

	step(t, laptop, "laptop: open the devices page",
		chromedp.Navigate(srv.URL+"/devices"),
		chromedp.WaitVisible(chromedp.CSS("table.devices")),
	)
	devices := eval[[]string](t, laptop, `[...document.querySelectorAll("tr[data-device-id] .device")].map(e => e.textContent)`)
	current := eval[string](t, laptop, `document.querySelector("tr.current .device").textContent`)
	if len(devices) != 2 || !strings.HasPrefix(current, "Headless Chrome") || !strings.Contains(strings.Join(devices, "|"), "on Android") {
		t.Fatalf("laptop's devices = %q, current %q; want 2, the current one headless Chrome, the other on Android", devices, current)
	}
	// Signing out here and revoking another device are told apart.
	labels := eval[[]string](t, laptop, `[...document.querySelectorAll("#logout, tr:not(.current) button, #logout-others")].map(e => e.textContent.trim())`)
	if want := []string{"Log out", "Revoke", "Revoke all other devices"}; strings.Join(labels, "|") != strings.Join(want, "|") {
		t.Errorf("laptop: labels of the buttons that sign out = %q, want %q", labels, want)
	}
	screenshot(t, laptop, "devices page", screenshotFile)

	// The phone's own pages fit its narrow screen.
	step(t, phone, "phone: open the home page", chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.ID("count")))
	checkPhoneLayout(t, phone, "home page")
	step(t, phone, "phone: open the devices page",
		chromedp.Navigate(srv.URL+"/devices"),
		chromedp.WaitVisible(chromedp.CSS("table.devices")),
	)
	checkPhoneLayout(t, phone, "devices page")
	screenshot(t, phone, "devices page on a phone", phoneScreenshotFile)

	// A form on another origin cannot log the phone out, although the
	// browser sends the SameSite=Lax cookie to this same-site address.
	resp, err := chromedp.RunResponse(laptop,
		chromedp.Navigate(evil.URL),
		chromedp.WaitVisible(chromedp.ID("attack")),
	)
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("laptop: open the other origin's page: %v, %v", resp, err)
	}
	resp, err = chromedp.RunResponse(laptop, chromedp.Click(chromedp.ID("attack")))
	if err != nil {
		t.Fatalf("laptop: submit the cross-origin form: %v", err)
	}
	if resp.Status != http.StatusForbidden {
		t.Errorf("cross-origin POST /devices/logout-others = %d, want 403", resp.Status)
	}
	if n, err := app.Store().ListByOwner(ctx, "ada"); len(n) != 2 || err != nil {
		t.Fatalf("ListByOwner(ada) after the cross-origin form = %d sessions, %v, want 2", len(n), err)
	}

	step(t, laptop, "laptop: revoke the phone",
		chromedp.Navigate(srv.URL+"/devices"),
		chromedp.WaitVisible(chromedp.CSS("tr:not(.current) button.danger")),
		chromedp.Click(chromedp.CSS("tr:not(.current) button.danger")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if got := eval[string](t, laptop, `document.querySelector(".flash").textContent`); got != "Revoked 1 device: it is signed out." {
		t.Errorf("laptop: message after revoking the phone = %q", got)
	}
	if n := eval[int](t, laptop, `document.querySelectorAll("tr[data-device-id]").length`); n != 1 {
		t.Errorf("laptop: %d devices after logging the phone out, want 1", n)
	}

	step(t, phone, "phone: reload the page",
		chromedp.Navigate(srv.URL+"/devices"),
		chromedp.WaitVisible(chromedp.ID("name")),
	)
	if loc, err := chromedp.Run(phone, chromedp.Location()); err != nil || loc != srv.URL+"/" {
		t.Errorf("phone: location after reload = %q, %v, want the sign-in page %s/", loc, err, srv.URL)
	}
	if got := eval[string](t, phone, `document.querySelector("h1").textContent`); got != "Sign in" {
		t.Errorf("phone: heading after being logged out = %q, want %q", got, "Sign in")
	}
	// It is told why, and the notice fits the screen.
	notice := eval[string](t, phone, `(document.getElementById("notice") || {}).textContent || ""`)
	if !strings.Contains(notice, "signed out from another device") {
		t.Errorf("phone: notice on the sign-in page = %q, want one saying it was signed out from another device", notice)
	}
	checkPhoneLayout(t, phone, "sign-in page after being revoked")
	screenshot(t, phone, "sign-in page after being revoked", "")
	if infos, err := app.Store().ListByOwner(ctx, "ada"); len(infos) != 1 || err != nil {
		t.Errorf("ListByOwner(ada) at the end = %d sessions, %v, want 1", len(infos), err)
	}
}
