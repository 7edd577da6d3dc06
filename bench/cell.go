package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sqlsession/sqlsession"
)

// op is one measured operation.
type op int

const (
	opFind op = iota
	opTouch
	opSave200
	opSave4K
	opMixed
	opDelete
)

var allOps = []op{opFind, opTouch, opSave200, opSave4K, opMixed, opDelete}

func (o op) String() string {
	return [...]string{"Find", "Touch", "Save 200 B", "Save 4 KB", "Mixed 90/9/1", "Delete"}[o]
}

// flagName is the op's name in -ops.
func (o op) flagName() string {
	return [...]string{"find", "touch", "save200", "save4k", "mixed", "delete"}[o]
}

// lifetime is the expiry every measured write gives a session.
const lifetime = 24 * time.Hour

// workload is what every cell of a family shares: the tokens of the
// preloaded sessions and the data written.
type workload struct {
	tokens  []string
	data200 []byte
	data4K  []byte
}

// queue hands out the tokens of sessions to delete, each once.
type queue struct {
	tokens []string
	next   atomic.Int64
}

func (q *queue) take() (string, bool) {
	i := q.next.Add(1) - 1
	if i >= int64(len(q.tokens)) {
		return "", false
	}
	return q.tokens[i], true
}

func (q *queue) left() int { return max(0, len(q.tokens)-int(q.next.Load())) }

// sample is the measurement of one slice of a cell.
type sample struct {
	ops     int64
	misses  int64 // Finds that found nothing
	elapsed time.Duration
	mallocs uint64
}

// rng is a xorshift generator: per goroutine, no locks, no allocations.
type rng uint64

func (r *rng) next() uint64 {
	x := uint64(*r)
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*r = rng(x)
	return x
}

// runSlice runs op on im from conc goroutines for d (or until maxOps
// operations, or until del runs out), and measures it. Allocations are
// counted over the whole process: the loop itself allocates nothing.
func runSlice(ctx context.Context, im impl, o op, conc int, d time.Duration, maxOps int64, w *workload, del *queue) (sample, error) {
	var (
		stop    atomic.Bool
		total   atomic.Int64
		tries   atomic.Int64
		misses  atomic.Int64
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
		m0, m1  runtime.MemStats
	)
	fail := func(err error) {
		errOnce.Do(func() { first = err })
		stop.Store(true)
	}
	if o == opDelete && del.left() == 0 {
		return sample{}, nil
	}
	// Operations get a context that is never cancelled, as scs's stores
	// use context.Background(): with a cancellable one, pgx watches every
	// query for cancellation, which costs allocations that a store without
	// a context never pays. The run's ctx still ends the slice.
	opCtx := context.WithoutCancel(ctx)
	stopWatch := context.AfterFunc(ctx, func() { stop.Store(true) })
	defer stopWatch()
	seeds := make([]rng, conc)
	for i := range seeds {
		seeds[i] = rng(uint64(time.Now().UnixNano())*2654435761 + uint64(i)*0x9e3779b97f4a7c15 | 1)
	}
	wg.Add(conc)
	runtime.ReadMemStats(&m0)
	start := time.Now()
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	for g := 0; g < conc; g++ {
		go func(r rng) {
			defer wg.Done()
			var n, miss int64
			defer func() { total.Add(n); misses.Add(miss) }()
			for !stop.Load() {
				if maxOps > 0 && tries.Add(1) > maxOps {
					stop.Store(true)
					return
				}
				tok := w.tokens[r.next()%uint64(len(w.tokens))]
				var err error
				switch o {
				case opFind:
					var found bool
					found, err = im.find(opCtx, tok)
					if !found {
						miss++
					}
				case opTouch:
					err = im.touch(opCtx, tok, time.Now().Add(lifetime))
				case opSave200:
					err = im.save(opCtx, tok, w.data200, time.Now().Add(lifetime))
				case opSave4K:
					err = im.save(opCtx, tok, w.data4K, time.Now().Add(lifetime))
				case opMixed:
					switch p := r.next() % 100; {
					case p < 90:
						_, err = im.find(opCtx, tok)
					case p < 99:
						err = im.save(opCtx, tok, w.data200, time.Now().Add(lifetime))
						if errors.Is(err, sqlsession.ErrDeleted) {
							// The 1% deleted this session before: a
							// deleted session stays deleted, and the
							// save that it refused is done.
							err = nil
						}
					default:
						err = im.del(opCtx, tok)
					}
				case opDelete:
					t, ok := del.take()
					if !ok {
						stop.Store(true)
						return
					}
					err = im.del(opCtx, t)
				}
				if err != nil {
					fail(fmt.Errorf("%s: %w", o, err))
					return
				}
				n++
			}
		}(seeds[g])
	}
	wg.Wait()
	elapsed := time.Since(start)
	timer.Stop()
	runtime.ReadMemStats(&m1)
	s := sample{ops: total.Load(), misses: misses.Load(), elapsed: elapsed, mallocs: m1.Mallocs - m0.Mallocs}
	if first != nil && !errors.Is(first, context.Canceled) {
		return s, first
	}
	return s, ctx.Err()
}
