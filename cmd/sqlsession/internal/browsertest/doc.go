// Package browsertest drives the demo web application of the sqlsession
// command in a real headless Chromium, through chromedp: two browsers sign in
// as one user, one logs the other out, and the other finds itself signed
// out. It also refreshes the screenshot in the repository's docs folder
// (go test -update). It has no API; see its test.
//
// The test needs SQLSESSION_TEST_CHROMIUM, the path of a Chromium binary
// (Debian's chromium package: /usr/bin/chromium). Without it the test skips,
// or fails with SQLSESSION_TEST_STRICT=1.
package browsertest
