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
// bytes it encodes, only its SHA-256 digest.
func TestTokenNotInTable(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		e := newEnv(t, tg, db, schema, sqlsession.Options{})
		a := newApp(t, e, "net-http")
		c := a.client()
		c.do("POST", "/login", "user", "alice")
		c.do("POST", "/put", "k", "color", "v", "blue")
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
	})
}
