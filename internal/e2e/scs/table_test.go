package scse2e_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
)

// TestTokenNotInTable logs in with scs and reads the whole table behind the
// store's back: no column may hold the cookie's token, as text or as the
// bytes it encodes, only its SHA-256 digest. With Options.Keys no column
// holds the session's values either.
func TestTokenNotInTable(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		t.Run("hashed", func(t *testing.T) { tokenNotInTable(t, tg, db, schema, sqlsession.Options{}) })
		t.Run("encrypted", func(t *testing.T) {
			tokenNotInTable(t, tg, db, schema, sqlsession.Options{Keys: [][]byte{sqlsession.NewKey()}})
		})
	})
}

func tokenNotInTable(t *testing.T, tg dbtest.Target, db *sql.DB, schema string, opts sqlsession.Options) {
	e := newEnv(t, tg, db, schema, opts)
	a := newApp(t, e, "net-http")
	c := a.client()
	const user, color = "alice-marker-7f3a", "blue-marker-9c1e"
	c.do("POST", "/login", "user", user)
	c.do("POST", "/put", "k", "color", "v", color)
	if got := c.get("color"); got != color {
		t.Fatalf("GET /get?k=color = %q, want %q", got, color)
	}
	tok := c.token()
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 32 {
		t.Fatalf("cookie token %q is not 32 bytes of base64url: %v", tok, err)
	}
	sum := sha256.Sum256([]byte(tok))
	digest := base64.RawURLEncoding.EncodeToString(sum[:])

	table := dbtest.QuotedTable(tg.Dialect, schema, e.s.Options().Table)
	rows, err := db.QueryContext(testCtx(t), "SELECT * FROM "+table)
	if err != nil {
		t.Fatalf("SELECT * FROM %s: %v", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var sawDigest bool
	for rows.Next() {
		n++
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			b, ok := v.([]byte)
			if !ok {
				b = fmt.Append(nil, v)
			}
			if bytes.Contains(b, []byte(tok)) || bytes.Contains(b, raw) {
				t.Errorf("column %s holds the cookie's token: %q", cols[i], b)
			}
			if opts.Keys != nil && (bytes.Contains(b, []byte(user)) || bytes.Contains(b, []byte(color)) || bytes.Contains(b, []byte("marker"))) {
				t.Errorf("column %s holds session data in clear with encryption on: %q", cols[i], b)
			}
			if string(b) == digest {
				sawDigest = true
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 1 || !sawDigest {
		t.Errorf("table %s has %d rows, digest of the token found %v, want 1, true", table, n, sawDigest)
	}
}
