package dbtest

import (
	"bytes"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
)

// TestSaveOverPacketLimit saves a session larger than MariaDB's
// max_allowed_packet with a MaxDataSize above it: the server drops the
// connection, and the error must name the limit (wrapping ErrTooLarge)
// instead of only "connection reset". The Store keeps working afterwards.
func TestSaveOverPacketLimit(t *testing.T) {
	Each(t, []Target{mysql}, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		var limit int
		if err := db.QueryRow("SELECT @@max_allowed_packet").Scan(&limit); err != nil {
			t.Fatal(err)
		}
		s := Store(t, db, tg.Dialect, schema, sqlsession.Options{MaxDataSize: 2 * limit})
		ctx := t.Context()
		tok := sqlsession.NewToken()
		err := s.Save(ctx, tok, bytes.Repeat([]byte("x"), limit+1), time.Now().Add(time.Hour))
		if !errors.Is(err, sqlsession.ErrTooLarge) || !strings.Contains(err.Error(), "max_allowed_packet") ||
			!strings.Contains(err.Error(), strconv.Itoa(limit)) {
			t.Fatalf("Save(%d bytes) = %v, want ErrTooLarge naming max_allowed_packet of %d", limit+1, err, limit)
		}
		if _, found, err := s.Find(ctx, tok); found || err != nil {
			t.Fatalf("Find() after the refused save = %v, %v, want a miss", found, err)
		}
		if err := s.Save(ctx, tok, []byte("small"), time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("Save(small) after the dropped connection = %v", err)
		}
	})
}
