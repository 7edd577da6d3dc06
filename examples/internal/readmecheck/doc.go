// Package readmecheck holds the test that keeps the framework snippets of
// the repository's README in step with the examples: each example marks its
// essential wiring between "// snippet:start" and "// snippet:end" lines,
// and the README must show that code verbatim in a ```go block.
//
// Print the README's "## Frameworks" section, as it must read, with
//
//	cd examples/internal/readmecheck && go test -run TestSection -args -print
package readmecheck
