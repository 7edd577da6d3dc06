package sqlsessiontest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
)

// The owner checks store data as "owner=NAME;ua=AGENT": a stand-in for the
// encodings of the frontends, whose own hooks are tested with them.
func field(data []byte, name string) string {
	for _, part := range strings.Split(string(data), ";") {
		if v, ok := strings.CutPrefix(part, name+"="); ok {
			return v
		}
	}
	return ""
}

var errHook = errors.New("hook refuses")

func ownerOptions() sqlsession.Options {
	return sqlsession.Options{
		Timestamps: true,
		Owner: func(data []byte) (string, error) {
			if field(data, "fail") != "" {
				return "", errHook
			}
			return field(data, "owner"), nil
		},
		Columns: []sqlsession.Column{{
			Name: "user_agent", Type: "VARCHAR(255)",
			Value: func(data []byte) (any, error) {
				if ua := field(data, "ua"); ua != "" {
					return ua, nil
				}
				return nil, nil
			},
		}},
	}
}

func session(owner, ua string) []byte { return []byte("owner=" + owner + ";ua=" + ua) }

func ids(infos []sqlsession.Info) map[string]sqlsession.Info {
	m := map[string]sqlsession.Info{}
	for _, in := range infos {
		m[in.ID] = in
	}
	return m
}

func mustList(t *testing.T, s *sqlsession.Store, owner string) []sqlsession.Info {
	t.Helper()
	infos, err := s.ListByOwner(ctx(t), owner)
	if err != nil {
		t.Fatalf("ListByOwner(%q) error = %v", owner, err)
	}
	return infos
}

func testOwnerRoundTrip(t *testing.T, k *kit) {
	s := k.open(t, ownerOptions())
	a1, a2, b1, anon := sqlsession.NewToken(), sqlsession.NewToken(), sqlsession.NewToken(), sqlsession.NewToken()
	mustSave(t, s, a1, session("alice", "Firefox"), hour())
	mustSave(t, s, a2, session("alice", "Safari"), time.Now().Add(2*time.Hour))
	mustSave(t, s, b1, session("bob", "curl"), hour())
	mustSave(t, s, anon, session("", ""), hour())

	infos := mustList(t, s, "alice")
	if len(infos) != 2 {
		t.Fatalf("ListByOwner(alice) = %d sessions, want 2", len(infos))
	}
	byID := ids(infos)
	for tok, ua := range map[string]string{a1: "Firefox", a2: "Safari"} {
		id := s.SessionID(tok)
		in, ok := byID[id]
		if !ok {
			t.Fatalf("ListByOwner(alice) lacks SessionID(%q) = %q", tok, id)
		}
		if strings.Contains(id, tok) || id == tok {
			t.Fatalf("Info.ID %q reveals the token", id)
		}
		if got := in.Columns["user_agent"]; got != ua {
			t.Fatalf("Info.Columns[user_agent] = %#v, want %q", got, ua)
		}
		if !near(in.Created, time.Now()) || !near(in.Updated, time.Now()) {
			t.Fatalf("Info times = %v / %v, want about now", in.Created, in.Updated)
		}
	}
	if infos[0].ID != s.SessionID(a2) {
		t.Fatalf("ListByOwner() first = %q, want the latest expiry (%q)", infos[0].ID, s.SessionID(a2))
	}
	if got := mustList(t, s, ""); len(got) != 0 {
		t.Fatalf("ListByOwner(\"\") = %d sessions, want none (anonymous is not an owner)", len(got))
	}
	if got := mustList(t, s, "ALICE"); len(got) != 0 {
		t.Fatalf("ListByOwner(ALICE) = %d sessions, want none (owners compare exactly)", len(got))
	}
	n, err := s.DeleteByOwner(ctx(t), "bob")
	if err != nil || n != 1 {
		t.Fatalf("DeleteByOwner(bob) = %d, %v, want 1, nil", n, err)
	}
	wantMiss(t, s, b1)
	wantData(t, s, a1, session("alice", "Firefox"))
	wantData(t, s, anon, session("", ""))
}

// testOwnerEverySave checks that owner and columns follow the data on every
// save, not only the first (connect-session-sequelize's bug).
func testOwnerEverySave(t *testing.T, k *kit) {
	s := k.open(t, ownerOptions())
	tok := sqlsession.NewToken()
	mustSave(t, s, tok, session("", "Firefox"), hour()) // anonymous visitor
	if got := mustList(t, s, "alice"); len(got) != 0 {
		t.Fatalf("anonymous session listed for alice")
	}
	mustSave(t, s, tok, session("alice", "Firefox 2"), hour()) // logs in
	got := mustList(t, s, "alice")
	if len(got) != 1 || got[0].Columns["user_agent"] != "Firefox 2" {
		t.Fatalf("after login ListByOwner(alice) = %+v, want one session with the new agent", got)
	}
	mustSave(t, s, tok, session("bob", "Firefox 2"), hour()) // switches user
	if got := mustList(t, s, "alice"); len(got) != 0 {
		t.Fatalf("ListByOwner(alice) after the switch = %d, want 0", len(got))
	}
	if got := mustList(t, s, "bob"); len(got) != 1 {
		t.Fatalf("ListByOwner(bob) after the switch = %d, want 1", len(got))
	}
	mustSave(t, s, tok, session("", ""), hour()) // logs out, keeps the session
	if got := mustList(t, s, "bob"); len(got) != 0 {
		t.Fatalf("ListByOwner(bob) after logout = %d, want 0", len(got))
	}
	err := s.Save(ctx(t), tok, []byte("fail=1;owner=eve"), hour())
	if !errors.Is(err, errHook) {
		t.Fatalf("Save() with a failing hook = %v, want it wrapped", err)
	}
	wantData(t, s, tok, session("", "")) // nothing written
}

func testOwnerListExcludesExpired(t *testing.T, k *kit) {
	s := k.open(t, ownerOptions())
	live, dead := sqlsession.NewToken(), sqlsession.NewToken()
	mustSave(t, s, live, session("carol", "a"), hour())
	mustSave(t, s, dead, session("carol", "b"), time.Now().Add(-time.Minute))
	got := mustList(t, s, "carol")
	if len(got) != 1 || got[0].ID != s.SessionID(live) {
		t.Fatalf("ListByOwner(carol) = %+v, want only the live session", got)
	}
}

func testOwnerRevoke(t *testing.T, k *kit) {
	s := k.open(t, ownerOptions())
	var toks []string
	for i := 0; i < 4; i++ {
		tok := sqlsession.NewToken()
		toks = append(toks, tok)
		mustSave(t, s, tok, session("dave", fmt.Sprint("device ", i)), hour())
	}
	other := sqlsession.NewToken()
	mustSave(t, s, other, session("erin", "x"), hour())

	// Log out this device, by its public id; another owner cannot.
	if ok, err := s.DeleteByID(ctx(t), "erin", s.SessionID(toks[3])); err != nil || ok {
		t.Fatalf("DeleteByID(erin, dave's session) = %v, %v, want false, nil", ok, err)
	}
	if ok, err := s.DeleteByID(ctx(t), "dave", s.SessionID(toks[3])); err != nil || !ok {
		t.Fatalf("DeleteByID(dave, id) = %v, %v, want true, nil", ok, err)
	}
	wantMiss(t, s, toks[3])
	if ok, err := s.DeleteByID(ctx(t), "dave", "no-such-id"); err != nil || ok {
		t.Fatalf("DeleteByID(unknown) = %v, %v, want false, nil", ok, err)
	}

	// Log out other devices.
	n, err := s.DeleteOthers(ctx(t), "dave", toks[0])
	if err != nil || n != 2 {
		t.Fatalf("DeleteOthers(dave, first) = %d, %v, want 2, nil", n, err)
	}
	wantData(t, s, toks[0], session("dave", "device 0"))
	wantMiss(t, s, toks[1])
	wantMiss(t, s, toks[2])
	wantData(t, s, other, session("erin", "x"))

	// Log out everywhere.
	if n, err := s.DeleteByOwner(ctx(t), "dave"); err != nil || n != 1 {
		t.Fatalf("DeleteByOwner(dave) = %d, %v, want 1, nil", n, err)
	}
	wantMiss(t, s, toks[0])
	wantData(t, s, other, session("erin", "x"))
}

func testOwnerNeedsOption(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	if _, err := s.ListByOwner(ctx(t), "x"); !errors.Is(err, sqlsession.ErrNoOwner) {
		t.Fatalf("ListByOwner() without Options.Owner = %v, want ErrNoOwner", err)
	}
	if _, err := s.DeleteByOwner(ctx(t), "x"); !errors.Is(err, sqlsession.ErrNoOwner) {
		t.Fatalf("DeleteByOwner() without Options.Owner = %v, want ErrNoOwner", err)
	}
}

// testOwnerMigration opens a table made without owner, columns or
// timestamps with a Store that wants them all: CreateTable adds them, every
// row stays, and the new features work on old and new rows.
func testOwnerMigration(t *testing.T, k *kit) {
	old := k.open(t, sqlsession.Options{})
	var toks []string
	for i := 0; i < 5; i++ {
		tok := sqlsession.NewToken()
		toks = append(toks, tok)
		mustSave(t, old, tok, session("frank", fmt.Sprint(i)), hour())
	}
	opts := ownerOptions()
	opts.Table, opts.Schema = old.Options().Table, old.Options().Schema
	s := k.open(t, opts) // runs CreateTable
	if err := s.CheckTable(ctx(t)); err != nil {
		t.Fatalf("CheckTable() after migration = %v", err)
	}
	for i, tok := range toks {
		wantData(t, s, tok, session("frank", fmt.Sprint(i)))
	}
	if got := mustList(t, s, "frank"); len(got) != 0 {
		t.Fatalf("old rows have an owner before any save: %d", len(got))
	}
	mustSave(t, s, toks[0], session("frank", "resaved"), hour())
	if got := mustList(t, s, "frank"); len(got) != 1 {
		t.Fatalf("ListByOwner(frank) after one re-save = %d, want 1", len(got))
	}
	if c := mustCount(t, s); c != 5 {
		t.Fatalf("Count() after migration = %d, want 5", c)
	}
	// The old Store keeps working on the migrated table.
	mustSave(t, old, toks[1], []byte("old writer"), hour())
	wantData(t, s, toks[1], []byte("old writer"))
	// And a Store that wants columns the table lacks says which.
	strict := ownerOptions()
	strict.Table, strict.Schema = old.Options().Table, old.Options().Schema
	strict.Columns = append(strict.Columns, sqlsession.Column{Name: "tenant", Type: "BIGINT", Value: func([]byte) (any, error) { return nil, nil }})
	s2 := k.store(t, strict)
	t.Cleanup(func() { s2.Close() })
	if err := s2.CheckTable(ctx(t)); !errors.Is(err, sqlsession.ErrMissingColumn) || !strings.Contains(err.Error(), "tenant") {
		t.Fatalf("CheckTable() with an undeclared column = %v, want ErrMissingColumn naming tenant", err)
	}
}

// testOwnerBytes checks that owners are compared byte for byte: owners that
// differ by a trailing space, case, an accent or a zero-width space never
// see or delete each other's sessions.
func testOwnerBytes(t *testing.T, k *kit) {
	s := k.open(t, ownerOptions())
	c := ctx(t)
	for _, other := range []string{"alice ", "Alice", "alicé", "alice\u200b", " alice", "alice\t"} {
		t.Run(fmt.Sprintf("%q", other), func(t *testing.T) {
			tok := sqlsession.NewToken()
			mustSave(t, s, tok, session("alice", "Firefox"), hour())
			if got := mustList(t, s, other); len(got) != 0 {
				t.Errorf("ListByOwner(%q) = %d sessions of alice, want 0", other, len(got))
			}
			if ok, err := s.DeleteByID(c, other, s.SessionID(tok)); ok || err != nil {
				t.Errorf("DeleteByID(%q, alice's session) = %v, %v, want false, nil", other, ok, err)
			}
			other2 := sqlsession.NewToken()
			mustSave(t, s, other2, session(other, "curl"), hour())
			if n, err := s.DeleteOthers(c, other, other2); n != 0 || err != nil {
				t.Errorf("DeleteOthers(%q, own token) = %d, %v, want 0, nil", other, n, err)
			}
			if n, err := s.DeleteByOwner(c, other); n != 1 || err != nil {
				t.Errorf("DeleteByOwner(%q) = %d, %v, want 1 (its own), nil", other, n, err)
			}
			wantData(t, s, tok, session("alice", "Firefox"))
			if err := s.Delete(c, tok); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// testOwnerValidation checks that every dialect refuses the same owners,
// with ErrInvalidOwner, before the database is asked.
func testOwnerValidation(t *testing.T, k *kit) {
	s := k.open(t, ownerOptions())
	c := ctx(t)
	for _, bad := range []string{"nul\x00byte", "bad utf8 \xff", strings.Repeat("x", 256)} {
		if err := s.Save(c, sqlsession.NewToken(), session(bad, ""), hour()); !errors.Is(err, sqlsession.ErrInvalidOwner) {
			t.Errorf("Save(owner %q) = %v, want ErrInvalidOwner", bad, err)
		}
		if _, err := s.ListByOwner(c, bad); !errors.Is(err, sqlsession.ErrInvalidOwner) {
			t.Errorf("ListByOwner(%q) = %v, want ErrInvalidOwner", bad, err)
		}
		if _, err := s.DeleteByOwner(c, bad); !errors.Is(err, sqlsession.ErrInvalidOwner) {
			t.Errorf("DeleteByOwner(%q) = %v, want ErrInvalidOwner", bad, err)
		}
		if _, err := s.DeleteByID(c, bad, "x"); !errors.Is(err, sqlsession.ErrInvalidOwner) {
			t.Errorf("DeleteByID(%q) = %v, want ErrInvalidOwner", bad, err)
		}
	}
	if n := mustCount(t, s); n != 0 {
		t.Fatalf("Count() = %d after refused saves, want 0", n)
	}
	good := strings.Repeat("é", 127) // 254 bytes
	tok := sqlsession.NewToken()
	mustSave(t, s, tok, session(good, ""), hour())
	if got := mustList(t, s, good); len(got) != 1 {
		t.Fatalf("ListByOwner(254-byte owner) = %d sessions, want 1", len(got))
	}
}

// testOwnerDeleteOthersMisuse checks that DeleteOthers with anything but
// the token of a live session of the owner deletes nothing.
func testOwnerDeleteOthersMisuse(t *testing.T, k *kit) {
	s := k.open(t, ownerOptions())
	c := ctx(t)
	cur, other := sqlsession.NewToken(), sqlsession.NewToken()
	mustSave(t, s, cur, session("ada", "Firefox"), hour())
	mustSave(t, s, other, session("ada", "Safari"), hour())
	bob := sqlsession.NewToken()
	mustSave(t, s, bob, session("bob", "curl"), hour())
	for name, keep := range map[string]string{
		"the public ID":        s.SessionID(cur),
		"empty":                "",
		"another owner's":      bob,
		"an unknown token":     sqlsession.NewToken(),
		"not a token (spaces)": "not a token",
	} {
		n, err := s.DeleteOthers(c, "ada", keep)
		if !errors.Is(err, sqlsession.ErrInvalidToken) || n != 0 {
			t.Errorf("DeleteOthers(ada, %s) = %d, %v, want 0, ErrInvalidToken", name, n, err)
		}
	}
	if got := mustList(t, s, "ada"); len(got) != 2 {
		t.Fatalf("after misused DeleteOthers, ada has %d sessions, want 2", len(got))
	}
	if n, err := s.DeleteOthers(c, "ada", cur); n != 1 || err != nil {
		t.Fatalf("DeleteOthers(ada, current token) = %d, %v, want 1, nil", n, err)
	}
	wantData(t, s, cur, session("ada", "Firefox"))
	wantMiss(t, s, other)
}

// testOwnerRevokeStaysRevoked checks that sessions deleted by owner or by
// ID are not brought back by requests that loaded them earlier.
func testOwnerRevokeStaysRevoked(t *testing.T, k *kit) {
	s := k.open(t, ownerOptions())
	c := ctx(t)
	a, b, keep := sqlsession.NewToken(), sqlsession.NewToken(), sqlsession.NewToken()
	for _, tok := range []string{a, b, keep} {
		mustSave(t, s, tok, session("eve", "x"), hour())
	}
	if n, err := s.DeleteOthers(c, "eve", keep); n != 2 || err != nil {
		t.Fatalf("DeleteOthers() = %d, %v, want 2, nil", n, err)
	}
	if ok, err := s.DeleteByID(c, "eve", s.SessionID(keep)); !ok || err != nil {
		t.Fatalf("DeleteByID() = %v, %v, want true, nil", ok, err)
	}
	for _, tok := range []string{a, b, keep} {
		if err := s.Save(c, tok, session("eve", "late"), hour()); !errors.Is(err, sqlsession.ErrDeleted) {
			t.Fatalf("Save(revoked token) = %v, want ErrDeleted", err)
		}
		wantMiss(t, s, tok)
	}
	c2 := sqlsession.NewToken()
	mustSave(t, s, c2, session("eve", "y"), hour())
	if n, err := s.DeleteByOwner(c, "eve"); n != 1 || err != nil {
		t.Fatalf("DeleteByOwner() = %d, %v, want 1, nil", n, err)
	}
	if err := s.Save(c, c2, session("eve", "late"), hour()); !errors.Is(err, sqlsession.ErrDeleted) {
		t.Fatalf("Save(revoked token) = %v, want ErrDeleted", err)
	}
	wantMiss(t, s, c2)
	if got := mustList(t, s, "eve"); len(got) != 0 {
		t.Fatalf("ListByOwner(eve) = %d after revokes and late saves, want 0", len(got))
	}
}
