package scse2e_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
)

// TestStoreContract checks scs's Store, CtxStore, IterableStore and
// IterableCtxStore contracts through scsstore, with hashed tokens (the
// default) and plain ones.
func TestStoreContract(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		for _, mode := range []struct {
			name  string
			plain bool
		}{{"hashed", false}, {"plain", true}} {
			t.Run(mode.name, func(t *testing.T) {
				for _, c := range contract {
					t.Run(c.name, func(t *testing.T) {
						e := newEnv(t, tg, db, schema, sqlsession.Options{PlainTokens: mode.plain})
						e.st.Opaque = true // the contract is about bytes, not scs's encoding
						c.fn(t, e, mode.plain)
					})
				}
			})
		}
	})
}

var contract = []struct {
	name string
	fn   func(t *testing.T, e *env, plain bool)
}{
	{"find missing", testFindMissing},
	{"commit and find", testCommitFind},
	{"commit overwrites", testCommitOverwrites},
	{"delete", testDelete},
	{"expiry", testExpiry},
	{"all empty", testAllEmpty},
	{"all keys round trip", testAllKeys},
	{"context", testContext},
}

var inAnHour = time.Now().Add(time.Hour)

func testFindMissing(t *testing.T, e *env, _ bool) {
	ctx := testCtx(t)
	for _, tok := range []string{
		sqlsession.NewToken(),
		"",
		"with space",
		"é",
		strings.Repeat("a", sqlsession.MaxTokenLength+1),
		"~" + strings.Repeat("A", 65), // shaped like a handle, forged
	} {
		if b, found, err := e.st.Find(tok); b != nil || found || err != nil {
			t.Errorf("Find(%q) = %q, %v, %v, want nil, false, nil", tok, b, found, err)
		}
		if b, found, err := e.st.FindCtx(ctx, tok); b != nil || found || err != nil {
			t.Errorf("FindCtx(%q) = %q, %v, %v, want nil, false, nil", tok, b, found, err)
		}
	}
}

func testCommitFind(t *testing.T, e *env, _ bool) {
	ctx := testCtx(t)
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"text", []byte("hello")},
		{"binary", binary},
		{"empty", []byte{}},
		{"large", bytes.Repeat([]byte("0123456789abcdef"), 1<<12)},
	}
	for _, tt := range tests {
		tok := sqlsession.NewToken()
		if err := e.st.Commit(tok, tt.data, inAnHour); err != nil {
			t.Fatalf("%s: Commit(%q, %d bytes) = %v", tt.name, tok, len(tt.data), err)
		}
		for _, find := range []struct {
			name string
			fn   func(string) ([]byte, bool, error)
		}{
			{"Find", e.st.Find},
			{"FindCtx", func(tok string) ([]byte, bool, error) { return e.st.FindCtx(ctx, tok) }},
		} {
			b, found, err := find.fn(tok)
			if !bytes.Equal(b, tt.data) || b == nil || !found || err != nil {
				t.Errorf("%s: %s(%q) = %d bytes, %v, %v, want %d bytes, true, nil", tt.name, find.name, tok, len(b), found, err, len(tt.data))
			}
		}
	}
	if err := e.st.Commit("with space", []byte("x"), inAnHour); !errors.Is(err, sqlsession.ErrInvalidToken) {
		t.Errorf("Commit(%q) = %v, want %v", "with space", err, sqlsession.ErrInvalidToken)
	}
}

func testCommitOverwrites(t *testing.T, e *env, _ bool) {
	ctx := testCtx(t)
	tok := sqlsession.NewToken()
	if err := e.st.Commit(tok, []byte("one"), inAnHour); err != nil {
		t.Fatalf("Commit() = %v", err)
	}
	if err := e.st.CommitCtx(ctx, tok, []byte("two"), inAnHour.Add(time.Hour)); err != nil {
		t.Fatalf("CommitCtx() = %v", err)
	}
	if b, found, err := e.st.Find(tok); string(b) != "two" || !found || err != nil {
		t.Errorf("Find() after two commits = %q, %v, %v, want %q, true, nil", b, found, err, "two")
	}
	if n := e.count(t); n != 1 {
		t.Errorf("Count() after two commits of one token = %d, want 1", n)
	}
}

func testDelete(t *testing.T, e *env, _ bool) {
	ctx := testCtx(t)
	a, b := sqlsession.NewToken(), sqlsession.NewToken()
	for _, tok := range []string{a, b} {
		if err := e.st.Commit(tok, []byte(tok), inAnHour); err != nil {
			t.Fatalf("Commit() = %v", err)
		}
	}
	if err := e.st.Delete(a); err != nil {
		t.Fatalf("Delete(a) = %v", err)
	}
	if err := e.st.DeleteCtx(ctx, b); err != nil {
		t.Fatalf("DeleteCtx(b) = %v", err)
	}
	for _, tok := range []string{a, b} {
		if e.found(t, tok) {
			t.Errorf("FindCtx(%q) after delete found it, want not found", tok)
		}
	}
	// Deleting what is not there is a no-op, not an error.
	for _, tok := range []string{a, sqlsession.NewToken(), "", "with space"} {
		if err := e.st.Delete(tok); err != nil {
			t.Errorf("Delete(%q) = %v, want nil", tok, err)
		}
		if err := e.st.DeleteCtx(ctx, tok); err != nil {
			t.Errorf("DeleteCtx(%q) = %v, want nil", tok, err)
		}
	}
}

func testExpiry(t *testing.T, e *env, _ bool) {
	past := time.Now().Add(-time.Second)
	expired, renewed, live := sqlsession.NewToken(), sqlsession.NewToken(), sqlsession.NewToken()
	steps := []struct {
		token  string
		expiry time.Time
	}{
		{expired, past},
		{renewed, past},
		{renewed, inAnHour}, // a commit revives an expired token's row
		{live, inAnHour},
		{live, past}, // and can end a live one
	}
	for _, s := range steps {
		if err := e.st.Commit(s.token, []byte("x"), s.expiry); err != nil {
			t.Fatalf("Commit(%q, %v) = %v", s.token, s.expiry, err)
		}
	}
	tests := []struct {
		name  string
		token string
		want  bool
	}{
		{"expired", expired, false},
		{"renewed", renewed, true},
		{"ended", live, false},
	}
	for _, tt := range tests {
		if got := e.found(t, tt.token); got != tt.want {
			t.Errorf("%s: FindCtx() found = %v, want %v", tt.name, got, tt.want)
		}
	}
	all, err := e.st.All()
	if err != nil || len(all) != 1 {
		t.Errorf("All() = %d sessions, %v, want 1 (expired sessions are not listed), nil", len(all), err)
	}
}

func testAllEmpty(t *testing.T, e *env, _ bool) {
	all, err := e.st.All()
	if all == nil || len(all) != 0 || err != nil {
		t.Errorf("All() = %#v, %v, want an empty non-nil map, nil", all, err)
	}
	all, err = e.st.AllCtx(testCtx(t))
	if all == nil || len(all) != 0 || err != nil {
		t.Errorf("AllCtx() = %#v, %v, want an empty non-nil map, nil", all, err)
	}
}

// testAllKeys checks that every key of All names its session for FindCtx,
// CommitCtx and DeleteCtx, whether or not it is the token.
func testAllKeys(t *testing.T, e *env, plain bool) {
	ctx := testCtx(t)
	tokens := map[string]string{} // data → token
	for range 3 {
		tok := sqlsession.NewToken()
		tokens["data of "+tok] = tok
		if err := e.st.Commit(tok, []byte("data of "+tok), inAnHour); err != nil {
			t.Fatalf("Commit() = %v", err)
		}
	}
	if err := e.st.Commit(sqlsession.NewToken(), []byte("expired"), time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("Commit() = %v", err)
	}
	all, err := e.st.AllCtx(ctx)
	if err != nil || len(all) != len(tokens) {
		t.Fatalf("AllCtx() = %d sessions, %v, want %d, nil", len(all), err, len(tokens))
	}
	viaAll, err := e.st.All()
	if err != nil || len(viaAll) != len(all) {
		t.Fatalf("All() = %d sessions, %v, want %d, nil", len(viaAll), err, len(all))
	}
	for key, data := range all {
		tok, ok := tokens[string(data)]
		if !ok {
			t.Fatalf("AllCtx()[%q] = %q, not a committed session", key, data)
		}
		if got := key == tok; got != plain {
			t.Errorf("AllCtx() key is the token = %v, want %v", got, plain)
		}
		if b, found, err := e.st.FindCtx(ctx, key); string(b) != string(data) || !found || err != nil {
			t.Errorf("FindCtx(key of All) = %q, %v, %v, want %q, true, nil", b, found, err, data)
		}
		if err := e.st.CommitCtx(ctx, key, []byte("changed"), inAnHour); err != nil {
			t.Fatalf("CommitCtx(key of All) = %v", err)
		}
		if b, found, err := e.st.FindCtx(ctx, tok); string(b) != "changed" || !found || err != nil {
			t.Errorf("FindCtx(token) after CommitCtx(key of All) = %q, %v, %v, want %q, true, nil", b, found, err, "changed")
		}
	}
	if n := e.count(t); n != int64(len(tokens)) {
		t.Errorf("Count() after CommitCtx of every key = %d, want %d (no new rows)", n, len(tokens))
	}
	for key := range all {
		if err := e.st.DeleteCtx(ctx, key); err != nil {
			t.Fatalf("DeleteCtx(key of All) = %v", err)
		}
	}
	for _, tok := range tokens {
		if e.found(t, tok) {
			t.Errorf("FindCtx(token) after DeleteCtx(key of All) found it, want not found")
		}
	}
}

// testContext checks that the Ctx methods give up with their context.
func testContext(t *testing.T, e *env, _ bool) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tok := sqlsession.NewToken()
	tests := []struct {
		name string
		call func() error
	}{
		{"FindCtx", func() error { _, _, err := e.st.FindCtx(ctx, tok); return err }},
		{"CommitCtx", func() error { return e.st.CommitCtx(ctx, tok, []byte("x"), inAnHour) }},
		{"DeleteCtx", func() error { return e.st.DeleteCtx(ctx, tok) }},
		{"AllCtx", func() error { _, err := e.st.AllCtx(ctx); return err }},
	}
	for _, tt := range tests {
		if err := tt.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s(cancelled ctx) = %v, want an error wrapping %v", tt.name, err, context.Canceled)
		}
	}
	if e.found(t, tok) {
		t.Errorf("CommitCtx(cancelled ctx) stored the session")
	}
}
