// Package sqlsessiontest is the conformance kit of [sqlsession.Store]: one
// function, [Run], checks the whole contract against a real database. Every
// backend and dialect of sqlsession runs it; so can a third-party backend.
//
//	func TestConformance(t *testing.T) {
//		sqlsessiontest.Run(t, func(t *testing.T, opts sqlsession.Options) *sqlsession.Store {
//			if opts.Table == "" {
//				opts.Table = freshTableName(t) // and drop it in t.Cleanup
//			}
//			s, err := sqlsession.New(db, sqlsession.Postgres, opts)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
package sqlsessiontest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
)

// NewStore returns a Store with the given options on a database that the
// test may use. If opts.Table is empty it must pick a table name that no other
// test uses and drop that table when t ends; otherwise it must use opts.Table
// as given (Run does so to open a second Store on a table it made before).
// It need not call CreateTable: Run does.
type NewStore func(t *testing.T, opts sqlsession.Options) *sqlsession.Store

// Run checks the [sqlsession.Store] contract, with hashed tokens, with
// plain tokens and with a table of another [sqlsession.Layout] (other column
// names, SQL timestamps, a key prefix), on stores made by newStore. Each
// check uses a new table.
func Run(t *testing.T, newStore NewStore) {
	for _, mode := range []struct {
		name   string
		plain  bool
		layout sqlsession.Layout
	}{{"hashed", false, sqlsession.Layout{}}, {"plain", true, sqlsession.Layout{}}, {"layout", false, OtherLayout}} {
		t.Run(mode.name, func(t *testing.T) {
			k := &kit{newStore: newStore, plain: mode.plain, layout: mode.layout}
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) { c.fn(t, k) })
			}
		})
	}
}

type kit struct {
	newStore NewStore
	plain    bool
	layout   sqlsession.Layout
}

// RunLayout is [Run] for one table layout and token mode: it checks the
// contract on stores that all use layout, with plain tokens or hashed
// ones, as a preset for another program's table (such as those of
// nodesession) needs. With layout.JSON the data checked is text, and the
// checks of encryption check that it is refused instead.
func RunLayout(t *testing.T, newStore NewStore, layout sqlsession.Layout, plainTokens bool) {
	k := &kit{newStore: newStore, plain: plainTokens, layout: layout}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.fn(t, k) })
	}
}

// zeros returns n bytes of data: zero bytes, or with a JSON layout (text
// columns, where PostgreSQL refuses NUL) n "x"s.
func (k *kit) zeros(n int) []byte {
	if k.layout.JSON {
		return bytes.Repeat([]byte("x"), n)
	}
	return make([]byte, n)
}

// OtherLayout is the non-default [sqlsession.Layout] that [Run] checks
// besides the default one: every column renamed, expiries as SQL
// timestamps, and a key prefix.
var OtherLayout = sqlsession.Layout{
	Key: "sid", Data: "sess", Expiry: "expire", Version: "rev",
	Created: "created", Updated: "updated", Owner: "user_id",
	Time: sqlsession.Timestamp, KeyPrefix: "app:sess:",
}

// open returns a Store with its table created; it is closed when t ends.
func (k *kit) open(t *testing.T, opts sqlsession.Options) *sqlsession.Store {
	t.Helper()
	s := k.store(t, opts)
	if s == nil {
		t.Fatal("NewStore returned nil")
	}
	t.Cleanup(func() { s.Close() })
	if err := s.CreateTable(ctx(t)); err != nil {
		t.Fatalf("CreateTable() = %v, want nil", err)
	}
	return s
}

// store returns a Store made by newStore with the kit's token mode and
// layout.
func (k *kit) store(t *testing.T, opts sqlsession.Options) *sqlsession.Store {
	t.Helper()
	opts.PlainTokens = k.plain
	if opts.Layout == (sqlsession.Layout{}) {
		opts.Layout = k.layout
		if !opts.Timestamps {
			opts.Layout.Created, opts.Layout.Updated = "", ""
		}
	}
	return k.newStore(t, opts)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

var checks = []struct {
	name string
	fn   func(*testing.T, *kit)
}{
	{"RoundTrip", testRoundTrip},
	{"Overwrite", testOverwrite},
	{"Miss", testMiss},
	{"Lookup", testLookup},
	{"TokensAreExact", testTokensAreExact},
	{"GarbageTokens", testGarbageTokens},
	{"Expiry", testExpiry},
	{"DefaultLifetime", testDefaultLifetime},
	{"Touch", testTouch},
	{"TouchNeverResurrects", testTouchNeverResurrects},
	{"Delete", testDelete},
	{"DeleteExpired", testDeleteExpired},
	{"CountAndClear", testCountAndClear},
	{"All", testAll},
	{"AllKeysWork", testAllKeysWork},
	{"AllEarlyBreak", testAllEarlyBreak},
	{"ConcurrentFirstSave", testConcurrentFirstSave},
	{"ConcurrentMixed", testConcurrentMixed},
	{"BatchReads", testBatchReads},
	{"TooLarge", testTooLarge},
	{"CancelledContext", testCancelledContext},
	{"Close", testClose},
	{"CreateTableConcurrent", testCreateTableConcurrent},
	{"TimestampsMigration", testTimestampsMigration},
	{"IdleTimeout", testIdleTimeout},
	{"CleanupInterval", testCleanupInterval},
	{"CleanupEvery", testCleanupEvery},
	{"OwnerRoundTrip", testOwnerRoundTrip},
	{"OwnerEverySave", testOwnerEverySave},
	{"OwnerListExcludesExpired", testOwnerListExcludesExpired},
	{"OwnerRevoke", testOwnerRevoke},
	{"OwnerNeedsOption", testOwnerNeedsOption},
	{"OwnerMigration", testOwnerMigration},
	{"EncryptionHidesData", testEncryptionHidesData},
	{"EncryptionRowSwap", testEncryptionRowSwap},
	{"EncryptionKeyRotation", testEncryptionKeyRotation},
	{"CorruptRows", testCorruptRows},
	{"SaveIf", testSaveIf},
	{"ConcurrentSaveIf", testConcurrentSaveIf},
	{"DeletedStaysDeleted", testDeletedStaysDeleted},
	{"ExpiryRange", testExpiryRange},
	{"OwnerBytes", testOwnerBytes},
	{"OwnerValidation", testOwnerValidation},
	{"OwnerDeleteOthersMisuse", testOwnerDeleteOthersMisuse},
	{"OwnerRevokeStaysRevoked", testOwnerRevokeStaysRevoked},
}

func ptr[T any](v T) *T { return &v }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func hour() time.Time { return time.Now().Add(time.Hour) }

func mustSave(t *testing.T, s *sqlsession.Store, token string, data []byte, exp time.Time) {
	t.Helper()
	if err := s.Save(ctx(t), token, data, exp); err != nil {
		t.Fatalf("Save(%.40q, %d bytes) = %v, want nil", token, len(data), err)
	}
}

func mustFind(t *testing.T, s *sqlsession.Store, token string) ([]byte, bool) {
	t.Helper()
	data, found, err := s.Find(ctx(t), token)
	if err != nil {
		t.Fatalf("Find(%.40q) error = %v, want nil", token, err)
	}
	return data, found
}

func wantData(t *testing.T, s *sqlsession.Store, token string, want []byte) {
	t.Helper()
	got, found := mustFind(t, s, token)
	if !found {
		t.Fatalf("Find(%.40q) found = false, want true", token)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Find(%.40q) = %d bytes %.32q, want %d bytes %.32q", token, len(got), got, len(want), want)
	}
}

func wantMiss(t *testing.T, s *sqlsession.Store, token string) {
	t.Helper()
	if got, found := mustFind(t, s, token); found {
		t.Fatalf("Find(%.40q) = %.32q, found = true, want a miss", token, got)
	}
}

func mustCount(t *testing.T, s *sqlsession.Store) int64 {
	t.Helper()
	n, err := s.Count(ctx(t))
	if err != nil {
		t.Fatalf("Count() error = %v", err)
	}
	return n
}

func entries(t *testing.T, s *sqlsession.Store) []sqlsession.Entry {
	t.Helper()
	var out []sqlsession.Entry
	for e, err := range s.All(ctx(t)) {
		if err != nil {
			t.Fatalf("All() error = %v", err)
		}
		out = append(out, e)
	}
	return out
}

func near(got, want time.Time) bool {
	d := got.Sub(want)
	return d > -5*time.Second && d < 5*time.Second
}

func testRoundTrip(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name string
		data []byte
		want []byte
	}{
		{"text", []byte(`{"user":"ada","cart":[1,2]}`), []byte(`{"user":"ada","cart":[1,2]}`)},
		{"empty", []byte{}, []byte{}},
		{"nil", nil, []byte{}},
		{"nul bytes", []byte("a\x00b\x00\x00c"), []byte("a\x00b\x00\x00c")},
		{"every byte", all, all},
		{"invalid utf-8", []byte{0xff, 0xfe, 0xc3, 0x28}, []byte{0xff, 0xfe, 0xc3, 0x28}},
		{"1 MiB", randomBytes(1 << 20), nil},
	}
	if k.layout.JSON {
		unit := `{"k":"héllo ✓ 😀 \\u0000"}`
		text := strings.Repeat(unit, 1<<20/len(unit))
		tests = append(tests[:3], struct {
			name string
			data []byte
			want []byte
		}{"unicode text", []byte(strings.Repeat(unit, 30)), nil}, struct {
			name string
			data []byte
			want []byte
		}{"1 MiB of text", []byte(text), nil})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == nil {
				want = tt.data
			}
			token := sqlsession.NewToken()
			mustSave(t, s, token, tt.data, hour())
			wantData(t, s, token, want)
		})
	}
}

func testOverwrite(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	token := sqlsession.NewToken()
	mustSave(t, s, token, []byte("first"), hour())
	mustSave(t, s, token, []byte("second"), hour())
	wantData(t, s, token, []byte("second"))
	if n := mustCount(t, s); n != 1 {
		t.Fatalf("Count() = %d after two saves of one token, want 1", n)
	}
}

func testMiss(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	wantMiss(t, s, sqlsession.NewToken())
}

// testTokensAreExact checks that tokens compare byte for byte: no case
// folding, no wildcard, no trimming.
func testTokensAreExact(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	tokens := []string{"abc", "ABC", "aBc", "a%", "a_", "a*", `a'b"c`, "a`b", `a\b`, "a;--", "a/*b*/", "~", "~~", "x"}
	for i, tok := range tokens {
		mustSave(t, s, tok, []byte(fmt.Sprint(i)), hour())
	}
	for i, tok := range tokens {
		wantData(t, s, tok, []byte(fmt.Sprint(i)))
	}
	wantMiss(t, s, "ab")
	wantMiss(t, s, "abc ")
	if n := mustCount(t, s); n != int64(len(tokens)) {
		t.Fatalf("Count() = %d, want %d", n, len(tokens))
	}
}

func testGarbageTokens(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	mustSave(t, s, "victim", []byte("secret"), hour())
	forged := "~" + strings.Repeat("A", 43) + strings.Repeat("B", 22)
	tests := []struct {
		name  string
		token string
		valid bool
	}{
		{"empty", "", false},
		{"space", "a b", false},
		{"nul", "vic\x00tim", false},
		{"newline", "victim\n", false},
		{"non-ascii", "vïctim", false},
		{"invalid utf-8", "\xff\xfe", false},
		{"too long", strings.Repeat("a", sqlsession.MaxTokenLength+1), false},
		{"huge", strings.Repeat("a", 1<<16), false},
		{"sql injection", "' OR '1'='1", false},
		{"longest", strings.Repeat("a", sqlsession.MaxTokenLength), true},
		{"forged handle", forged, true},
		{"injection without spaces", "'OR'1'='1'--", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sqlsession.ValidToken(tt.token); got != tt.valid {
				t.Fatalf("ValidToken(%.40q) = %v, want %v", tt.token, got, tt.valid)
			}
			wantMiss(t, s, tt.token)
			if err := s.Touch(ctx(t), tt.token, hour()); err != nil {
				t.Fatalf("Touch(%.40q) = %v, want nil", tt.token, err)
			}
			if err := s.Delete(ctx(t), tt.token); err != nil {
				t.Fatalf("Delete(%.40q) = %v, want nil", tt.token, err)
			}
			err := s.Save(ctx(t), tt.token, []byte("x"), hour())
			if tt.valid {
				if err != nil {
					t.Fatalf("Save(%.40q) = %v, want nil", tt.token, err)
				}
				wantData(t, s, tt.token, []byte("x"))
			} else if !errors.Is(err, sqlsession.ErrInvalidToken) {
				t.Fatalf("Save(%.40q) = %v, want ErrInvalidToken", tt.token, err)
			}
		})
	}
	wantData(t, s, "victim", []byte("secret"))
}

func testExpiry(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	past, live := sqlsession.NewToken(), sqlsession.NewToken()
	mustSave(t, s, past, []byte("old"), time.Now().Add(-time.Second))
	mustSave(t, s, live, []byte("new"), hour())
	wantMiss(t, s, past)
	wantData(t, s, live, []byte("new"))
	if n := mustCount(t, s); n != 1 {
		t.Fatalf("Count() = %d, want 1 (expired sessions are not counted)", n)
	}
	if es := entries(t, s); len(es) != 1 || !bytes.Equal(es[0].Data, []byte("new")) {
		t.Fatalf("All() = %d entries, want only the live one", len(es))
	}
	// Saving again with a future expiry revives the token with the new data.
	mustSave(t, s, past, []byte("again"), hour())
	wantData(t, s, past, []byte("again"))
}

func testDefaultLifetime(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{DefaultLifetime: 3 * time.Hour})
	token := sqlsession.NewToken()
	mustSave(t, s, token, []byte("browser session"), time.Time{})
	wantData(t, s, token, []byte("browser session"))
	es := entries(t, s)
	if len(es) != 1 || !near(es[0].Expiry, time.Now().Add(3*time.Hour)) {
		t.Fatalf("All() = %+v, want one entry expiring in 3h", es)
	}
}

func testTouch(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	token := sqlsession.NewToken()
	mustSave(t, s, token, []byte("data"), hour())
	later := time.Now().Add(5 * time.Hour)
	if err := s.Touch(ctx(t), token, later); err != nil {
		t.Fatalf("Touch() = %v", err)
	}
	es := entries(t, s)
	if len(es) != 1 || !near(es[0].Expiry, later) {
		t.Fatalf("after Touch, All() = %+v, want expiry %v", es, later)
	}
	wantData(t, s, token, []byte("data"))
	if err := s.Touch(ctx(t), token, time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("Touch(past) = %v", err)
	}
	wantMiss(t, s, token)
}

func testTouchNeverResurrects(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	unknown, deleted, expired := sqlsession.NewToken(), sqlsession.NewToken(), sqlsession.NewToken()
	mustSave(t, s, deleted, []byte("d"), hour())
	if err := s.Delete(ctx(t), deleted); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, expired, []byte("e"), time.Now().Add(-time.Minute))
	for _, tok := range []string{unknown, deleted, expired} {
		if err := s.Touch(ctx(t), tok, hour()); err != nil {
			t.Fatalf("Touch() = %v, want nil", err)
		}
		wantMiss(t, s, tok)
	}
	if n := mustCount(t, s); n != 0 {
		t.Fatalf("Count() = %d after touching dead tokens, want 0", n)
	}
}

func testDelete(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	a, b := sqlsession.NewToken(), sqlsession.NewToken()
	mustSave(t, s, a, []byte("a"), hour())
	mustSave(t, s, b, []byte("b"), hour())
	for i := 0; i < 2; i++ {
		if err := s.Delete(ctx(t), a); err != nil {
			t.Fatalf("Delete() #%d = %v, want nil", i+1, err)
		}
	}
	wantMiss(t, s, a)
	wantData(t, s, b, []byte("b"))
}

func testDeleteExpired(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{CleanupBatchSize: 7})
	past := time.Now().Add(-time.Minute)
	for i := 0; i < 50; i++ {
		// Expiries in 13 steps, most shared by several rows: batches of 7
		// end inside a run of equal expiries, where the next one resumes.
		mustSave(t, s, sqlsession.NewToken(), []byte("old"), past.Add(-time.Duration(i%13)*time.Second))
	}
	var live []string
	for i := 0; i < 5; i++ {
		tok := sqlsession.NewToken()
		live = append(live, tok)
		mustSave(t, s, tok, []byte("live"), hour())
	}
	n, err := s.DeleteExpired(ctx(t))
	if err != nil || n != 50 {
		t.Fatalf("DeleteExpired() = %d, %v, want 50, nil", n, err)
	}
	if n, err := s.DeleteExpired(ctx(t)); err != nil || n != 0 {
		t.Fatalf("second DeleteExpired() = %d, %v, want 0, nil", n, err)
	}
	for _, tok := range live {
		wantData(t, s, tok, []byte("live"))
	}
	cancelled, cancel := context.WithCancel(ctx(t))
	cancel()
	if _, err := s.DeleteExpired(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("DeleteExpired(cancelled ctx) error = %v, want context.Canceled", err)
	}
}

func testCountAndClear(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	if n := mustCount(t, s); n != 0 {
		t.Fatalf("Count() on a new table = %d, want 0", n)
	}
	for i := 0; i < 10; i++ {
		mustSave(t, s, sqlsession.NewToken(), []byte("x"), hour())
	}
	mustSave(t, s, sqlsession.NewToken(), []byte("x"), time.Now().Add(-time.Minute))
	if n := mustCount(t, s); n != 10 {
		t.Fatalf("Count() = %d, want 10", n)
	}
	if err := s.Clear(ctx(t)); err != nil {
		t.Fatalf("Clear() = %v", err)
	}
	if n := mustCount(t, s); n != 0 {
		t.Fatalf("Count() after Clear = %d, want 0", n)
	}
	if n, err := s.DeleteExpired(ctx(t)); err != nil || n != 0 {
		t.Fatalf("DeleteExpired() after Clear = %d, %v, want 0, nil (Clear removes expired rows too)", n, err)
	}
}

func testAll(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	want := map[string]string{}
	for i := 0; i < 150; i++ { // more than two pages
		tok := sqlsession.NewToken()
		want[tok] = fmt.Sprint("data ", i)
		mustSave(t, s, tok, []byte(want[tok]), hour())
	}
	for i := 0; i < 5; i++ {
		mustSave(t, s, sqlsession.NewToken(), []byte("expired"), time.Now().Add(-time.Minute))
	}
	es := entries(t, s)
	if len(es) != len(want) {
		t.Fatalf("All() yielded %d entries, want %d live ones", len(es), len(want))
	}
	seen := map[string]bool{}
	for _, e := range es {
		if seen[e.Key] {
			t.Fatalf("All() yielded key %q twice", e.Key)
		}
		seen[e.Key] = true
		if string(e.Data) == "expired" {
			t.Fatalf("All() yielded an expired session")
		}
		if !near(e.Expiry, hour()) {
			t.Fatalf("All() entry expiry = %v, want about %v", e.Expiry, hour())
		}
		if !k.plain {
			if _, ok := want[e.Key]; ok {
				t.Fatalf("All() yielded a token in clear with hashed tokens")
			}
		} else if want[e.Key] != string(e.Data) {
			t.Fatalf("All() entry %q = %q, want %q", e.Key, e.Data, want[e.Key])
		}
	}
}

// testAllKeysWork checks that the keys All yields name their sessions for
// Find, Save, Touch and Delete, including from inside the loop.
func testAllKeysWork(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	tokens := make([]string, 70)
	for i := range tokens {
		tokens[i] = sqlsession.NewToken()
		mustSave(t, s, tokens[i], []byte(fmt.Sprint(i)), hour())
	}
	n := 0
	for e, err := range s.All(ctx(t)) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		wantData(t, s, e.Key, e.Data)
		updated := append([]byte("updated "), e.Data...)
		mustSave(t, s, e.Key, updated, hour())
		wantData(t, s, e.Key, updated)
		if err := s.Touch(ctx(t), e.Key, time.Now().Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if n != len(tokens) {
		t.Fatalf("All() yielded %d entries, want %d", n, len(tokens))
	}
	for i, tok := range tokens { // the original tokens see the updates
		wantData(t, s, tok, []byte(fmt.Sprint("updated ", i)))
	}
	for e, err := range s.All(ctx(t)) {
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx(t), e.Key); err != nil {
			t.Fatal(err)
		}
	}
	if c := mustCount(t, s); c != 0 {
		t.Fatalf("Count() after deleting every listed key = %d, want 0", c)
	}
}

func testAllEarlyBreak(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	for i := 0; i < 100; i++ {
		mustSave(t, s, sqlsession.NewToken(), []byte("x"), hour())
	}
	n := 0
	for _, err := range s.All(ctx(t)) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	if n != 3 {
		t.Fatalf("loop ran %d times, want 3", n)
	}
	// The store still works: nothing was left open.
	if c := mustCount(t, s); c != 100 {
		t.Fatalf("Count() = %d, want 100", c)
	}
}

func testConcurrentFirstSave(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	token := sqlsession.NewToken()
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Save(ctx(t), token, []byte(fmt.Sprint("writer ", i)), hour())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Save() = %v, want nil", err)
		}
	}
	got, found := mustFind(t, s, token)
	if !found || !strings.HasPrefix(string(got), "writer ") {
		t.Fatalf("Find() = %q, %v, want one writer's data", got, found)
	}
	if c := mustCount(t, s); c != 1 {
		t.Fatalf("Count() = %d, want 1", c)
	}
}

// testConcurrentMixed runs saves, finds, touches and deletes of distinct
// tokens at once, then checks every token holds what its goroutine left.
func testConcurrentMixed(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	const workers, rounds = 16, 20
	var wg sync.WaitGroup
	// Errors of different types: atomic.Value takes one concrete type only.
	var failed atomic.Pointer[error]
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ctx(t)
			tok := sqlsession.NewToken()
			for r := 0; r < rounds; r++ {
				data := []byte(fmt.Sprint(w, "/", r))
				if err := s.Save(c, tok, data, hour()); err != nil {
					failed.Store(ptr(err))
					return
				}
				got, found, err := s.Find(c, tok)
				if err != nil || !found || !bytes.Equal(got, data) {
					failed.Store(ptr(fmt.Errorf("Find() = %q, %v, %v, want %q", got, found, err, data)))
					return
				}
				if err := s.Touch(c, tok, hour()); err != nil {
					failed.Store(ptr(err))
					return
				}
				if r%5 == 4 {
					if err := s.Delete(c, tok); err != nil {
						failed.Store(ptr(err))
						return
					}
					if _, found, _ := s.Find(c, tok); found {
						failed.Store(ptr(errors.New("found a session after Delete")))
						return
					}
					// A deleted token stays deleted: go on with a new one.
					tok = sqlsession.NewToken()
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		t.Fatal(*err)
	}
	if c := mustCount(t, s); c != 0 {
		t.Fatalf("Count() = %d, want 0 (each worker deleted its token last)", c)
	}
}

func testTooLarge(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{MaxDataSize: 1000})
	token := sqlsession.NewToken()
	err := s.Save(ctx(t), token, k.zeros(1001), hour())
	if !errors.Is(err, sqlsession.ErrTooLarge) {
		t.Fatalf("Save(1001 bytes) = %v, want ErrTooLarge", err)
	}
	wantMiss(t, s, token)
	mustSave(t, s, token, k.zeros(1000), hour())
	wantData(t, s, token, k.zeros(1000))
	// An oversized save leaves the session as it was.
	if err := s.Save(ctx(t), token, k.zeros(5000), hour()); !errors.Is(err, sqlsession.ErrTooLarge) {
		t.Fatalf("Save(5000 bytes) = %v, want ErrTooLarge", err)
	}
	wantData(t, s, token, k.zeros(1000))
}

func testCancelledContext(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	token := sqlsession.NewToken()
	mustSave(t, s, token, []byte("x"), hour())
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	// A failed lookup is an error, never a miss that would log the user out.
	if _, found, err := s.Find(c, token); err == nil || found {
		t.Fatalf("Find(cancelled ctx) = found %v, err %v, want an error", found, err)
	}
	if err := s.Save(c, token, []byte("y"), hour()); err == nil {
		t.Fatal("Save(cancelled ctx) = nil, want an error")
	}
	wantData(t, s, token, []byte("x"))
}

func testClose(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{CleanupInterval: time.Hour, CleanupEvery: 2})
	token := sqlsession.NewToken()
	mustSave(t, s, token, []byte("x"), hour())
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close() = %v, want nil", err)
	}
	c := ctx(t)
	if _, _, err := s.Find(c, token); !errors.Is(err, sqlsession.ErrClosed) {
		t.Fatalf("Find() after Close = %v, want ErrClosed", err)
	}
	if err := s.Save(c, token, nil, hour()); !errors.Is(err, sqlsession.ErrClosed) {
		t.Fatalf("Save() after Close = %v, want ErrClosed", err)
	}
	if _, err := s.DeleteExpired(c); !errors.Is(err, sqlsession.ErrClosed) {
		t.Fatalf("DeleteExpired() after Close = %v, want ErrClosed", err)
	}
}

// testCreateTableConcurrent starts many instances on a table that does not
// exist yet, as a deploy of several app servers does.
func testCreateTableConcurrent(t *testing.T, k *kit) {
	first := k.store(t, sqlsession.Options{})
	t.Cleanup(func() { first.Close() })
	table := first.Options().Table
	stores := []*sqlsession.Store{first}
	for i := 0; i < 3; i++ {
		s := k.store(t, sqlsession.Options{Table: table, Schema: first.Options().Schema})
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	for i, s := range stores {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.CreateTable(ctx(t)) }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent CreateTable() #%d = %v, want nil", i, err)
		}
	}
	if err := first.CreateTable(ctx(t)); err != nil {
		t.Fatalf("CreateTable() again = %v, want nil", err)
	}
	token := sqlsession.NewToken()
	mustSave(t, first, token, []byte("x"), hour())
	wantData(t, stores[3], token, []byte("x"))
}

// testTimestampsMigration opens a table made without timestamps with a Store
// that wants them: CreateTable adds the columns and keeps the rows.
func testTimestampsMigration(t *testing.T, k *kit) {
	old := k.open(t, sqlsession.Options{})
	token := sqlsession.NewToken()
	mustSave(t, old, token, []byte("kept"), hour())
	opts := old.Options()
	s := k.open(t, sqlsession.Options{Table: opts.Table, Schema: opts.Schema, Timestamps: true})
	if err := s.CreateTable(ctx(t)); err != nil {
		t.Fatalf("CreateTable() twice with Timestamps = %v", err)
	}
	wantData(t, s, token, []byte("kept"))
	mustSave(t, s, token, []byte("changed"), hour())
	if err := s.Touch(ctx(t), token, hour()); err != nil {
		t.Fatal(err)
	}
	fresh := sqlsession.NewToken()
	mustSave(t, s, fresh, []byte("new"), hour())
	wantData(t, s, token, []byte("changed"))
	wantData(t, old, fresh, []byte("new"))
}

func testIdleTimeout(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{IdleTimeout: time.Hour})
	short, long := sqlsession.NewToken(), sqlsession.NewToken()
	mustSave(t, s, short, []byte("s"), time.Now().Add(time.Minute))
	mustSave(t, s, long, []byte("l"), time.Now().Add(10*time.Hour))
	wantData(t, s, short, []byte("s"))
	wantData(t, s, long, []byte("l"))
	for _, e := range entries(t, s) {
		want := time.Now().Add(time.Hour) // slid forward
		if string(e.Data) == "l" {
			want = time.Now().Add(10 * time.Hour) // never moved backwards
		}
		if !near(e.Expiry, want) {
			t.Fatalf("after Find, %q expires at %v, want about %v", e.Data, e.Expiry, want)
		}
	}
}

// logCounter is a slog.Handler counting the rows background cleanup reports.
type logCounter struct {
	deleted atomic.Int64
	errors  atomic.Int64
}

func (h *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.errors.Add(1)
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "deleted" {
			h.deleted.Add(a.Value.Int64())
		}
		return true
	})
	return nil
}
func (h *logCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logCounter) WithGroup(string) slog.Handler      { return h }

// waitDeleted polls until background cleanup has reported n deleted rows.
func waitDeleted(t *testing.T, h *logCounter, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for h.deleted.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("background cleanup deleted %d rows, want %d", h.deleted.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if e := h.errors.Load(); e != 0 {
		t.Fatalf("background cleanup logged %d errors", e)
	}
}

func testCleanupInterval(t *testing.T, k *kit) {
	h := &logCounter{}
	// The table exists before the janitor starts, as after a deploy: a
	// sweep that raced CreateTable would rightly log an error.
	created := k.open(t, sqlsession.Options{})
	o := created.Options()
	s := k.open(t, sqlsession.Options{Table: o.Table, Schema: o.Schema, CleanupInterval: 20 * time.Millisecond, Logger: slog.New(h)})
	for i := 0; i < 12; i++ {
		mustSave(t, s, sqlsession.NewToken(), []byte("old"), time.Now().Add(-time.Minute))
	}
	live := sqlsession.NewToken()
	mustSave(t, s, live, []byte("live"), hour())
	waitDeleted(t, h, 12)
	wantData(t, s, live, []byte("live"))
}

func testCleanupEvery(t *testing.T, k *kit) {
	h := &logCounter{}
	s := k.open(t, sqlsession.Options{CleanupEvery: 10, Logger: slog.New(h)})
	for i := 0; i < 9; i++ { // nine operations: no sweep yet
		mustSave(t, s, sqlsession.NewToken(), []byte("old"), time.Now().Add(-time.Minute))
	}
	if got := h.deleted.Load(); got != 0 {
		t.Fatalf("cleanup ran before the 10th operation: %d rows deleted", got)
	}
	wantMiss(t, s, sqlsession.NewToken()) // the 10th
	waitDeleted(t, h, 9)
}

func testLookup(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	tok := sqlsession.NewToken()
	exp := time.Now().Add(90 * time.Minute)
	mustSave(t, s, tok, []byte("data"), exp)
	e, found, err := s.Lookup(ctx(t), tok)
	if err != nil || !found || string(e.Data) != "data" || e.Key != tok || !near(e.Expiry, exp) {
		t.Fatalf("Lookup() = %+v, %v, %v, want the data, the token and expiry %v", e, found, err, exp)
	}
	for _, miss := range []string{sqlsession.NewToken(), "", "bad token"} {
		if _, found, err := s.Lookup(ctx(t), miss); found || err != nil {
			t.Fatalf("Lookup(%q) = found %v, %v, want a miss", miss, found, err)
		}
	}
	mustSave(t, s, tok, []byte("data"), time.Now().Add(-time.Second))
	if _, found, err := s.Lookup(ctx(t), tok); found || err != nil {
		t.Fatalf("Lookup(expired) = found %v, %v, want a miss", found, err)
	}
	slide := k.open(t, sqlsession.Options{IdleTimeout: time.Hour})
	mustSave(t, slide, tok, []byte("x"), time.Now().Add(time.Minute))
	if e, _, _ := slide.Lookup(ctx(t), tok); !near(e.Expiry, time.Now().Add(time.Hour)) {
		t.Fatalf("Lookup() with IdleTimeout expiry = %v, want about an hour from now", e.Expiry)
	}
}
