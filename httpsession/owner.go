package httpsession

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/sqlsession/sqlsession"
)

// OwnerKey returns an [sqlsession.Options.Owner] hook that reads the
// session's owner from key: a string as it is, a number or a boolean as
// its JSON text, anything else or a missing key as "" (anonymous). With it,
// [sqlsession.Store.ListByOwner] and [sqlsession.Store.DeleteByOwner] ("log
// out everywhere") find the sessions of a user:
//
//	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{
//		Owner: httpsession.OwnerKey("user_id"),
//	})
//
// Data that is not a JSON object fails the save with an error.
func OwnerKey(key string) func(data []byte) (string, error) {
	return func(data []byte) (string, error) {
		if len(bytes.TrimSpace(data)) == 0 {
			return "", nil
		}
		var values map[string]json.RawMessage
		if err := json.Unmarshal(data, &values); err != nil {
			return "", fmt.Errorf("httpsession: owner key %q: %w", key, err)
		}
		raw, ok := values[key]
		if !ok {
			return "", nil
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return "", fmt.Errorf("httpsession: owner key %q: %w", key, err)
		}
		return sqlsession.OwnerString(v), nil
	}
}
