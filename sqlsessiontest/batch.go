package sqlsessiontest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
)

// testBatchReads reads sessions of every kind (live, deleted, expired,
// never saved) from many goroutines at once with Options.BatchReads, so
// that reads are answered in batches, and checks every answer against
// what the session is.
func testBatchReads(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{BatchReads: true})
	type session struct {
		token string
		data  []byte // nil: a miss
	}
	var sessions []session
	for i := range 40 {
		tok := sqlsession.NewToken()
		data := []byte(fmt.Sprintf(`{"n":%d}`, i))
		switch i % 4 {
		case 1: // deleted
			mustSave(t, s, tok, data, hour())
			if err := s.Delete(ctx(t), tok); err != nil {
				t.Fatal(err)
			}
			data = nil
		case 2: // never saved
			data = nil
		case 3: // expired
			mustSave(t, s, tok, data, time.Now().Add(-time.Second))
			data = nil
		default:
			mustSave(t, s, tok, data, hour())
		}
		sessions = append(sessions, session{tok, data})
	}

	const goroutines, reads = 32, 25
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range reads {
				se := sessions[(g*7+i)%len(sessions)]
				var data []byte
				var found bool
				var err error
				if i%2 == 0 {
					data, found, err = s.Find(ctx(t), se.token)
				} else {
					var e sqlsession.Entry
					e, found, err = s.Lookup(ctx(t), se.token)
					data = e.Data
					if found && (e.Key != se.token || !e.Expiry.After(time.Now())) {
						err = fmt.Errorf("entry %q expiring %v", e.Key, e.Expiry)
					}
				}
				if err != nil || found != (se.data != nil) || !bytes.Equal(data, se.data) {
					errs <- fmt.Errorf("read of %s = %s, %v, %v; want %s, %v", se.data, data, found, err, se.data, se.data != nil)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
