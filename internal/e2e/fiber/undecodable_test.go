package fibere2e_test

import (
	"bytes"
	"database/sql"
	"encoding/gob"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
)

// lostType stands for a type that the process which stored a session had
// registered and this one has not: its registered name is replaced in the
// bytes by one of the same length that nothing registers.
type lostType struct{ A int }

func init() { gob.RegisterName("fibere2e_test.lost_type", lostType{}) }

// crafted returns a row that claims a fiber v3 session of count entries and
// holds n: the definition of the map type, then the map with its count and
// n string entries. Decoded into a nil map it makes gob allocate for count
// entries; fiber, which decodes into an existing map, reads the n entries
// and fails at the end of the data.
func crafted(count uint64, n int) []byte {
	def := []byte{0x7f, 4, 1, 2, 0xff, 0x80, 0, 1, 0x10, 1, 0x10, 0, 0} // type 64 = map[any]any
	val := appendGobUint([]byte{0xff, 0x80, 0}, count)                  // type 64, then the map
	for i := range n {
		for _, s := range []string{fmt.Sprint("k", i), "v"} {
			// An interface value: type name, type id (string = 6), the
			// length of the value, and the value (a singleton string).
			val = append(val, 6)
			val = append(val, "string"...)
			val = append(val, 0x0c, byte(2+len(s)), 0, byte(len(s)))
			val = append(val, s...)
		}
	}
	b := appendGobUint(nil, uint64(len(def)))
	b = append(b, def...)
	b = appendGobUint(b, uint64(len(val)))
	return append(b, val...)
}

func appendGobUint(b []byte, x uint64) []byte {
	if x < 0x80 {
		return append(b, byte(x))
	}
	var be []byte
	for ; x > 0; x >>= 8 {
		be = append([]byte{byte(x)}, be...)
	}
	return append(append(b, byte(-len(be))), be...)
}

// TestUndecodableSession plants stored sessions that fiber's session
// middleware cannot decode, and sends their ids as cookies to fiber v3's
// and v2's middleware: each request gets a fresh session instead of an
// error, allocates little, and the row is gone. It is not parallel: it
// measures the process's allocations.
func TestUndecodableSession(t *testing.T) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&map[any]any{"user": "alice", "x": lostType{1}}); err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		name string
		data []byte
	}{
		{"4 Mi entries claimed, 3 held", crafted(1<<22, 3)},
		{"unregistered type", bytes.ReplaceAll(buf.Bytes(), []byte("fibere2e_test.lost_type"), []byte("fibere2e_test.gone_type"))},
		{"truncated", buf.Bytes()[:buf.Len()-3]},
	}
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		e := newEnv(t, tg, db, schema, sqlsession.Options{Logger: slog.New(slog.DiscardHandler)})
		apps := []struct{ name, base string }{{"fiber v3", v3App(t, e.st)}, {"fiber v2", v2App(t, e.st)}}
		for _, app := range apps {
			for _, row := range rows {
				token := sqlsession.NewToken()
				if err := e.s.Save(testCtx(t), token, row.data, time.Now().Add(time.Hour)); err != nil {
					t.Fatalf("Save() = %v", err)
				}
				c := newClient(t, app.base)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				status, body, err := c.do(http.MethodGet, "/whoami", "session_id="+token)
				runtime.ReadMemStats(&after)
				if err != nil || status != http.StatusOK {
					t.Errorf("%s: GET /whoami with the id of a row %s = %d %q, %v, want 200", app.name, row.name, status, body, err)
					continue
				}
				if got := parseView(t, body); got.ID == "" || got.ID == token || got.User != "" {
					t.Errorf("%s: GET /whoami with the id of a row %s = %+v, want a fresh session", app.name, row.name, got)
				}
				if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
					t.Errorf("%s: GET /whoami with the id of a %d-byte row allocated %d MiB, want under 16", app.name, len(row.data), n>>20)
				}
				if _, found, err := e.s.Lookup(testCtx(t), token); found || err != nil {
					t.Errorf("%s: Lookup(id of a row %s) after the request = %t, %v, want the row deleted", app.name, row.name, found, err)
				}
			}
		}
	})
}
