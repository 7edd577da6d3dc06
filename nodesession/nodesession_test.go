package nodesession_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"testing"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/nodesession"
)

// noDB is a database that is never reached: New does no I/O.
type noDB struct{}

func (noDB) Connect(context.Context) (driver.Conn, error) { return nil, errors.New("no database") }
func (noDB) Driver() driver.Driver                        { return nil }

var presets = []struct {
	name                 string
	opts                 func() sqlsession.Options
	table, key, data, ex string
	time                 sqlsession.TimeFormat
	prefix               string
	created              string
}{
	{"ConnectPgSimple", nodesession.ConnectPgSimple, "session", "sid", "sess", "expire", sqlsession.Timestamp, "", ""},
	{"ConnectSessionSequelize", nodesession.ConnectSessionSequelize, "Sessions", "sid", "data", "expires", sqlsession.Timestamp, "", "createdAt"},
	{"SequelizeSessionStore", nodesession.SequelizeSessionStore, "express_session", "sid", "sess", "expire", sqlsession.Timestamp, "", ""},
	{"KoaGenericSessionSequelize", nodesession.KoaGenericSessionSequelize, "Sessions", "id", "data", "expires", sqlsession.UnixSeconds, "koa:sess:", ""},
	{"KoaGenericSessionKnex", nodesession.KoaGenericSessionKnex, "Sessions", "id", "data", "expires", sqlsession.UnixSeconds, "koa:sess:", ""},
	{"KoaPgSession", nodesession.KoaPgSession, "session", "id", "session", "expiry", sqlsession.Timestamp, "koa:sess:", ""},
}

// TestPresets checks that every preset is valid on every dialect and names
// the Node.js store's table.
func TestPresets(t *testing.T) {
	db := sql.OpenDB(noDB{})
	defer db.Close()
	for _, p := range presets {
		for _, d := range sqlsession.Dialects {
			t.Run(p.name+"/"+d.Name(), func(t *testing.T) {
				s, err := sqlsession.New(db, d, p.opts())
				if err != nil {
					t.Fatalf("New(%s) = %v, want nil", p.name, err)
				}
				defer s.Close()
				o := s.Options()
				l := o.Layout
				if o.Table != p.table || l.Key != p.key || l.Data != p.data || l.Expiry != p.ex || l.Time != p.time || l.KeyPrefix != p.prefix || l.Created != p.created {
					t.Errorf("%s() = table %q, layout %+v", p.name, o.Table, l)
				}
				if !l.JSON || !o.PlainTokens || o.DeleteGrace >= 0 || l.Version != "version" {
					t.Errorf("%s() = JSON %v, PlainTokens %v, DeleteGrace %v, Version %q; want JSON text, plain tokens, no tombstones, a version column",
						p.name, l.JSON, o.PlainTokens, o.DeleteGrace, l.Version)
				}
			})
		}
	}
}

// TestPresetsAreFresh checks that each call returns a new value: changing
// one result does not change the next.
func TestPresetsAreFresh(t *testing.T) {
	for _, p := range presets {
		a := p.opts()
		a.Table = "changed"
		a.Layout.Key = "changed"
		if b := p.opts(); b.Table != p.table || b.Layout.Key != p.key {
			t.Errorf("%s() after changing an earlier result = %q, %q", p.name, b.Table, b.Layout.Key)
		}
	}
}

// TestNewSID checks the format of uid-safe(24): 32 characters of URL-safe
// base64, a valid token, never repeated.
func TestNewSID(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	seen := map[string]bool{}
	for range 1000 {
		sid := nodesession.NewSID()
		if len(sid) != 32 || !sqlsession.ValidToken(sid) {
			t.Fatalf("NewSID() = %q: %d characters, want 32", sid, len(sid))
		}
		for _, c := range sid {
			if !strings.ContainsRune(alphabet, c) {
				t.Fatalf("NewSID() = %q holds %q, want URL-safe base64", sid, c)
			}
		}
		if seen[sid] {
			t.Fatalf("NewSID() = %q twice", sid)
		}
		seen[sid] = true
	}
}
