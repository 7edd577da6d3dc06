// Package gorillae2e holds the end-to-end tests of gorillastore and ginstore:
// real HTTP servers of net/http, gin and echo keeping their sessions in each
// test database. It has no code of its own.
package gorillae2e
