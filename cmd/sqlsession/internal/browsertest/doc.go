// Package browsertest drives the demo web application of the sqlsession
// command in a real headless Chromium, through chromedp: a laptop and a
// phone (a 390 px wide mobile viewport) sign in as one user, the laptop
// revokes the phone, and the phone finds itself on the sign-in page with a
// notice saying why. The phone's pages must fit its width with the header
// on one line. It also refreshes the screenshots in the repository's docs
// folder (go test -update; -shots DIR keeps every screenshot). It has no
// API; see its test.
//
// The test needs SQLSESSION_TEST_CHROMIUM, the path of a Chromium binary
// (Debian's chromium package: /usr/bin/chromium). Without it the test skips,
// or fails with SQLSESSION_TEST_STRICT=1.
package browsertest
