package sqlsession

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Column names of the default [Layout]. See the README for the schema per dialect.
const (
	colToken   = "token"
	colData    = "data"
	colExpires = "expires_at"
	colCreated = "created_at"
	colUpdated = "updated_at"
	colOwner   = "owner"
	colVersion = "version"
)

// maxOwnerSessions bounds what ListByOwner returns.
const maxOwnerSessions = 1000

// queries is the SQL text of one Store, built once by New from its dialect
// and layout. Every value is a bind parameter; the comment on each field gives
// the arguments in order.
type queries struct {
	createTable    []string          // none
	columns        string            // schema, table: the table's column names
	addColumn      map[string]string // by column name (lower case); none
	indexes        []string          // after columns exist; none
	indexCount     string            // schema, table, column: indexes led by the column, where CREATE INDEX has no IF NOT EXISTS
	columnIndexes  []columnIndex     // made when indexCount finds none
	required       []string          // the required columns (lower case)
	optional       []string          // the names in addColumn, in order
	find           string            // key, now
	findExpiry     string            // key, now: data, expiry[, version]
	findMany       []string          // keys (8, 16, ... maxBatchRead of them), now: key, data, expiry[, version]
	save           string            // key, data, expiry[, created, updated][, owner][, extras...]; refused by a tombstone
	saveIf         string            // data, expiry[, updated][, owner][, extras...], key, version, now; "" without versions
	touch          string            // expiry[, updated], key, now
	delete         string            // key: the row itself, at once
	tombstone      string            // data (empty), dead, grace version, key: a deleted row that refuses saves; "" without versions
	deleteBatch    string            // now[, -now][, from], limit: expired rows and tombstones past their grace; "" where pickExpired is set
	pickExpired    string            // now[, -now][, from], limit: keys of such rows (and their expiries with a cursor), read without locks, for deleteKeys
	batchCursor    bool              // deleteBatch and pickExpired take and report a keyset cursor (see batchSQL)
	deleteKeys     []string          // keys (8, 16, ... maxKeysPerDelete of them), now[, -now]: those still expired
	count          string            // now
	clear          string            // none
	page           string            // after, now, limit
	listOwner      string            // owner, now: key, expiry[, created, updated][, extras...]
	ownerKeys      string            // owner: key
	ownerHas       string            // key, owner, now: 1 if the key is a live session of owner
	deleteOwner    string            // data (empty), dead, grace version, owner: tombstones
	deleteOther    string            // data (empty), dead, grace version, owner, key: tombstones
	deleteOwnerNow string            // owner: without tombstones
	deleteOtherNow string            // owner, key
	extraNames     []string          // Options.Columns names, in order
	lock           string            // lock name: 1 if taken, 0 if held elsewhere; "" without named locks
	unlock         string            // lock name; "" when the transaction's end releases the lock
	lockName       string
	ownerType      string // schema, table, column: the owner column's type, where ownerFix may be needed
	ownerFix       string // none: makes the owner column compare byte for byte
	ownerName      string // the owner column's name, for ownerType

	l    Layout
	d    *dialect
	dead any // the expiry of a tombstone: 1970, dead for every reader
}

// time returns t as the table stores it, as a bind argument.
func (q *queries) time(t time.Time) any { return q.l.timeArg(q.d, t) }

// dataArg returns data as the table stores it, as a bind argument.
func (q *queries) dataArg(data []byte) any {
	if q.l.JSON {
		return string(data)
	}
	if data == nil {
		return emptyData // NOT NULL
	}
	return data
}

// emptyData is an empty BLOB argument, boxed once: drivers only read it.
var emptyData any = []byte{}

// key returns the stored key of a token's key (hashed or plain).
func (q *queries) key(k string) string {
	if q.l.KeyPrefix == "" {
		return k
	}
	return q.l.KeyPrefix + k
}

func join(s []string) string { return strings.Join(s, ", ") }

func buildQueries(d *dialect, o *Options) queries {
	l := &o.Layout
	q := queries{l: *l, d: d, addColumn: map[string]string{}}
	q.dead = l.timeArg(d, time.Unix(0, 0))
	t := d.ident(o.Schema, o.Table)
	c := func(name string) string { return d.ident(name) }
	key, data, exp := c(l.Key), c(l.Data), c(l.Expiry)
	owner, ver := c(l.Owner), ""
	if l.versioned() {
		ver = c(l.Version)
	}
	p := params{d: d}
	next := func() string { return p.next() }
	reset := func() { p = params{d: d} }

	// Schema.
	ct := d.sql.types(l)
	cols := []string{
		key + " " + ct.key + " NOT NULL PRIMARY KEY",
		data + " " + ct.data + " NOT NULL",
		exp + " " + ct.time + " NOT NULL",
	}
	q.required = []string{lower(l.Key), lower(l.Data), lower(l.Expiry)}
	addOptional := func(name, def string) {
		cols = append(cols, def)
		q.optional = append(q.optional, lower(name))
		q.addColumn[lower(name)] = d.sql.addColumn(t, def)
	}
	if l.versioned() {
		// The row version: compare-and-swap writes, and tombstones (negative).
		addOptional(l.Version, ver+" "+ct.integer+" NOT NULL DEFAULT 0")
	}
	if l.timestamps() {
		zero := "0"
		if l.Time == Timestamp {
			zero = "'1970-01-01 00:00:00'"
		}
		addOptional(l.Created, c(l.Created)+" "+ct.time+" NOT NULL DEFAULT "+zero)
		addOptional(l.Updated, c(l.Updated)+" "+ct.time+" NOT NULL DEFAULT "+zero)
	}
	if o.Owner != nil {
		addOptional(l.Owner, owner+" "+ct.owner+" NULL")
	}
	for _, col := range o.Columns {
		addOptional(col.Name, c(col.Name)+" "+col.Type+" NULL")
		q.extraNames = append(q.extraNames, col.Name)
	}
	// Index names keep the table's name and the expiry column's.
	expIndex, ownerIndex := o.Table+"_"+lower(l.Expiry)+"_idx", o.Table+"_"+lower(l.Owner)+"_idx"
	sch := d.sql.createTable(&schemaSpec{
		o: o, d: d, table: t, cols: cols, exp: exp, owner: owner,
		expName: l.Expiry, ownerName: l.Owner,
		expIndex: expIndex, ownerIndex: ownerIndex, expIndexQ: c(expIndex), ownerIndexQ: c(ownerIndex),
	})
	q.createTable, q.indexes, q.indexCount, q.columnIndexes = sch.create, sch.indexes, sch.indexCount, sch.columnIndexes
	q.columns, q.ownerType, q.ownerFix, q.ownerName = sch.columns, sch.ownerType, sch.ownerFix, l.Owner

	// Reads. Tombstones are expired since 1970: no reader sees them.
	reset()
	q.find = fmt.Sprintf("SELECT %s FROM %s WHERE %s = %s AND %s > %s", data, t, key, next(), exp, next())
	reset()
	sel := data + ", " + exp
	if ver != "" {
		sel += ", " + ver
	}
	q.findExpiry = fmt.Sprintf("SELECT %s FROM %s WHERE %s = %s AND %s > %s", sel, t, key, next(), exp, next())
	for n := 8; n <= maxBatchRead; n *= 2 {
		reset()
		in := make([]string, n)
		for i := range in {
			in[i] = next()
		}
		q.findMany = append(q.findMany, d.sql.readMany(t, key+", "+sel, key, exp, in, next()))
	}
	reset()
	q.count = fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s > %s", t, exp, next())
	reset()
	q.page = d.sql.limit(fmt.Sprintf("SELECT %s, %s, %s FROM %s WHERE %s > %s AND %s > %s ORDER BY %s", key, data, exp, t, key, next(), exp, next(), key), next())

	// Save: one atomic upsert, refused by a tombstone.
	reset()
	insCols := []string{key, data, exp}
	updCols := []string{data, exp}
	if l.timestamps() {
		insCols = append(insCols, c(l.Created), c(l.Updated))
		updCols = append(updCols, c(l.Updated))
	}
	if o.Owner != nil {
		insCols = append(insCols, owner)
		updCols = append(updCols, owner)
	}
	for _, col := range o.Columns {
		insCols = append(insCols, c(col.Name))
		updCols = append(updCols, c(col.Name))
	}
	vals := make([]string, len(insCols))
	for i := range vals {
		vals[i] = next()
	}
	q.save = d.sql.upsert(t, key, insCols, vals, updCols, ver)

	// SaveIf: compare-and-swap on the version of a live row; never inserts.
	if ver != "" {
		reset()
		set := []string{data + " = " + next(), exp + " = " + next()}
		if l.timestamps() {
			set = append(set, c(l.Updated)+" = "+next())
		}
		if o.Owner != nil {
			set = append(set, owner+" = "+next())
		}
		for _, col := range o.Columns {
			set = append(set, c(col.Name)+" = "+next())
		}
		set = append(set, ver+" = "+ver+" + 1")
		q.saveIf = fmt.Sprintf("UPDATE %s SET %s WHERE %s = %s AND %s = %s AND %s > %s",
			t, join(set), key, next(), ver, next(), exp, next())
	}

	// Touch moves the expiry of a live row only: it never resurrects.
	reset()
	touchSet := exp + " = " + next()
	if l.timestamps() {
		touchSet += ", " + c(l.Updated) + " = " + next()
	}
	q.touch = fmt.Sprintf("UPDATE %s SET %s WHERE %s = %s AND %s > %s", t, touchSet, key, next(), exp, next())

	reset()
	q.delete = fmt.Sprintf("DELETE FROM %s WHERE %s = %s", t, key, next())
	// A tombstone: dead to every reader (expired since 1970), empty, and
	// remembered until its grace ends, kept negated in the version.
	bury := func() string {
		b := fmt.Sprintf("%s = %s, %s = %s, %s = %s", data, next(), exp, next(), ver, next())
		if o.Owner != nil {
			b += ", " + owner + " = NULL"
		}
		return b
	}
	if ver != "" {
		reset()
		q.tombstone = fmt.Sprintf("UPDATE %s SET %s WHERE %s = %s", t, bury(), key, next())
	}
	q.clear = "DELETE FROM " + t

	// Bounded batches, so a large backlog never holds long locks.
	reset()
	b := d.sql.deleteBatch(t, key, exp, ver, &p)
	q.deleteBatch, q.pickExpired, q.batchCursor = b.del, b.pick, b.cursor
	for n := 8; b.keys != nil && n <= maxKeysPerDelete; n *= 2 {
		q.deleteKeys = append(q.deleteKeys, b.keys(n))
	}

	// A named lock per table, so that instances sweep one at a time.
	sum := sha256.Sum256([]byte(t))
	q.lockName = "sqlsession_" + hex.EncodeToString(sum[:12])
	reset()
	q.lock, q.unlock = d.sql.lock(&p)

	// Per-owner queries, through the owner index.
	if o.Owner != nil {
		sel := []string{key, exp}
		if l.timestamps() {
			sel = append(sel, c(l.Created), c(l.Updated))
		}
		for _, col := range o.Columns {
			sel = append(sel, c(col.Name))
		}
		ownerIs := func() string { return d.sql.ownerIs(owner, next()) }
		reset()
		q.listOwner = d.sql.limit(fmt.Sprintf("SELECT %s FROM %s WHERE %s AND %s > %s ORDER BY %s DESC",
			join(sel), t, ownerIs(), exp, next(), exp), fmt.Sprint(maxOwnerSessions))
		reset()
		q.ownerKeys = fmt.Sprintf("SELECT %s FROM %s WHERE %s", key, t, ownerIs())
		reset()
		q.ownerHas = fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s = %s AND %s AND %s > %s", t, key, next(), ownerIs(), exp, next())
		if ver != "" {
			reset()
			q.deleteOwner = fmt.Sprintf("UPDATE %s SET %s WHERE %s", t, bury(), ownerIs())
			reset()
			q.deleteOther = fmt.Sprintf("UPDATE %s SET %s WHERE %s AND %s <> %s", t, bury(), ownerIs(), key, next())
		}
		reset()
		q.deleteOwnerNow = fmt.Sprintf("DELETE FROM %s WHERE %s", t, ownerIs())
		reset()
		q.deleteOtherNow = fmt.Sprintf("DELETE FROM %s WHERE %s AND %s <> %s", t, ownerIs(), key, next())
	}
	return q
}
