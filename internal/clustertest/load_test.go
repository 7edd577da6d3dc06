package clustertest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sqlsession/sqlsession"
)

// load runs saves and finds from many goroutines until stopped, keeping a
// record of every call. Worker w uses stores[w%len(stores)]. Each worker
// saves new sessions and reads back ones it saved before: a read of a
// session whose Save returned nil must find it with its data, or fail with
// an error. It must never be a miss.
type load struct {
	stores  []*sqlsession.Store
	workers int
	maxOps  int           // per worker: the load is bounded even if never stopped
	pace    time.Duration // pause after each call
	timeout time.Duration // ctx deadline of each call
}

// call is one Store call of a load.
type call struct {
	worker int
	op     string // "save" or "find"
	at     time.Duration
	took   time.Duration
	err    error
}

// loadResult is what a load did.
type loadResult struct {
	start     time.Time
	calls     []call
	committed map[string][]byte // token → data, for every Save that returned nil
	byStore   map[string]int    // token → index of the store that saved it
	misses    []string          // finds of committed sessions that found nothing and returned nil
	wrong     []string          // finds that returned other data
}

// run starts the load and returns a function that stops it and returns the
// result.
func (l load) run() (stop func() loadResult) {
	start := time.Now()
	var halt atomic.Bool
	var wg sync.WaitGroup
	type workerResult struct {
		calls         []call
		tokens        []string
		data          [][]byte
		misses, wrong []string
	}
	results := make([]workerResult, l.workers)
	for w := range l.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[w]
			s := l.stores[w%len(l.stores)]
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for i := 0; i < l.maxOps && !halt.Load(); i++ {
				ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
				c := call{worker: w, at: time.Since(start)}
				if i%2 == 0 || len(r.tokens) == 0 {
					c.op = "save"
					token := sqlsession.NewToken()
					data := fmt.Appendf(nil, "w%d-%d-%d", w, i, rng.Uint64())
					c.err = s.Save(ctx, token, data, time.Now().Add(time.Hour))
					if c.err == nil {
						r.tokens = append(r.tokens, token)
						r.data = append(r.data, data)
					}
				} else {
					c.op = "find"
					k := rng.IntN(len(r.tokens))
					got, found, err := s.Find(ctx, r.tokens[k])
					c.err = err
					switch {
					case err != nil:
					case !found:
						r.misses = append(r.misses, r.tokens[k])
					case !bytes.Equal(got, r.data[k]):
						r.wrong = append(r.wrong, r.tokens[k])
					}
				}
				c.took = time.Since(start) - c.at
				cancel()
				r.calls = append(r.calls, c)
				time.Sleep(l.pace)
			}
		}()
	}
	return func() loadResult {
		halt.Store(true)
		wg.Wait()
		res := loadResult{start: start, committed: map[string][]byte{}, byStore: map[string]int{}}
		for w, r := range results {
			res.calls = append(res.calls, r.calls...)
			for i, tok := range r.tokens {
				res.committed[tok] = r.data[i]
				res.byStore[tok] = w % len(l.stores)
			}
			res.misses = append(res.misses, r.misses...)
			res.wrong = append(res.wrong, r.wrong...)
		}
		sort.Slice(res.calls, func(i, j int) bool { return res.calls[i].at < res.calls[j].at })
		return res
	}
}

// window summarizes the calls that started in [from, to) of the load, of the
// workers that keep returns true for (nil: all).
type window struct {
	calls, errs int
	maxTook     time.Duration
	slowest     call // the call that took maxTook
	firstErr    error
	lastErrAt   time.Duration // when the last failing call started
	firstOKAt   time.Duration // when the first successful call started; -1 if none
}

func (r loadResult) window(from, to time.Duration, keep func(worker int) bool) window {
	w := window{firstOKAt: -1}
	for _, c := range r.calls {
		if c.at < from || c.at >= to || (keep != nil && !keep(c.worker)) {
			continue
		}
		w.calls++
		if c.took > w.maxTook {
			w.maxTook, w.slowest = c.took, c
		}
		if c.err != nil {
			w.errs++
			w.lastErrAt = c.at
			if w.firstErr == nil {
				w.firstErr = c.err
			}
		} else if w.firstOKAt < 0 {
			w.firstOKAt = c.at
		}
	}
	return w
}

// since returns the time since the start of the load.
func (r loadResult) since(t time.Time) time.Duration { return t.Sub(r.start) }

// ms formats a duration in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
