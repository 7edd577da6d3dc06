package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sqlsession/sqlsession"
)

// cellKey names a cell of a target: one op at one number of goroutines.
type cellKey struct {
	op   op
	conc int
}

// agg keeps the turns of a cell, one per round.
type agg struct {
	ops, misses int64
	mallocs     uint64
	turns       []sample // by round
	skipped     string   // why the cell did not run
}

func (a *agg) add(s sample) {
	a.ops += s.ops
	a.misses += s.misses
	a.mallocs += s.mallocs
	a.turns = append(a.turns, s)
}

func (s sample) rate() float64 {
	if s.ops == 0 || s.elapsed <= 0 {
		return 0
	}
	return float64(s.ops) / s.elapsed.Seconds()
}

// rate is the median of the cell's per-turn rates: a burst of other work
// on the machine during one turn does not move it.
func (a *agg) rate() float64 {
	if a == nil {
		return 0
	}
	var rs []float64
	for _, s := range a.turns {
		if r := s.rate(); r > 0 {
			rs = append(rs, r)
		}
	}
	return median(rs)
}

// relative is the median, over the rounds, of a's rate divided by base's
// in the same round: adjacent turns see the same machine.
func relative(a, base *agg) float64 {
	if a == nil || base == nil {
		return 0
	}
	var rs []float64
	for i := 0; i < len(a.turns) && i < len(base.turns); i++ {
		if x, y := a.turns[i].rate(), base.turns[i].rate(); x > 0 && y > 0 {
			rs = append(rs, x/y)
		}
	}
	return median(rs)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

func (a *agg) allocs() float64 {
	if a == nil || a.ops == 0 {
		return math.NaN()
	}
	return float64(a.mallocs) / float64(a.ops)
}

// targetResult is one target's cells.
type targetResult struct {
	name, role string
	cells      map[cellKey]*agg
}

// familyResult is one family's targets, the floor first.
type familyResult struct {
	fam     family
	targets []*targetResult
}

func (f *familyResult) floor() *targetResult { return f.targets[0] }

func (f *familyResult) target(name string) *targetResult {
	for _, t := range f.targets {
		if t.name == name {
			return t
		}
	}
	return nil
}

// raceEnabled is set by race.go in builds with the race detector.
var raceEnabled bool

// runFamily measures every cell of every selected target of f, the targets
// taking turns within each cell.
func runFamily(ctx context.Context, e *env, f family) (*familyResult, error) {
	cfg := e.cfg
	logf(cfg, "== %s", f.title)
	w := &workload{tokens: make([]string, cfg.sessions), data200: randomBytes(200), data4K: randomBytes(4096)}
	for i := range w.tokens {
		w.tokens[i] = sqlsession.NewToken()
	}
	fr := &familyResult{fam: f}
	var insts []*instance
	defer func() {
		for _, in := range insts {
			if in != nil && in.close != nil {
				in.close()
			}
		}
	}()
	var chosen []target
	for i, t := range f.targets {
		if i == 0 || cfg.targets == nil || cfg.targets.MatchString(t.name) {
			chosen = append(chosen, t)
		}
	}
	// Open the last store first and the floor last: with SQLite, a file
	// opened earlier can read a little slower, and that must never favour
	// sqlsession.
	insts = make([]*instance, len(chosen))
	fr.targets = make([]*targetResult, len(chosen))
	for i := len(chosen) - 1; i >= 0; i-- {
		t := chosen[i]
		start := time.Now()
		in, err := t.open(ctx, e)
		if err != nil {
			return fr, fmt.Errorf("open %s: %w", t.name, err)
		}
		insts[i] = in
		if err := in.seed(ctx, w.tokens, w.data200, defaultExpiry()); err != nil {
			return fr, fmt.Errorf("%s: %w", t.name, err)
		}
		found, err := in.impl.find(ctx, w.tokens[len(w.tokens)-1])
		if err != nil || !found {
			return fr, fmt.Errorf("%s: a seeded session is not found (found=%v, err=%v)", t.name, found, err)
		}
		fr.targets[i] = &targetResult{name: t.name, role: t.role, cells: map[cellKey]*agg{}}
		logf(cfg, "   %-34s ready (%d sessions, %v)", t.name, cfg.sessions, time.Since(start).Round(time.Millisecond))
	}
	maxConc := maxInt(cfg.conc)
	for _, in := range insts {
		conc := maxConc
		if in.racyConc && raceEnabled {
			conc = 1
		}
		if _, err := runSlice(ctx, in.impl, opFind, conc, cfg.warm, cfg.maxOps, w, nil); err != nil {
			return fr, fmt.Errorf("warm-up: %w", err)
		}
	}

	slice := cfg.d / time.Duration(cfg.rounds)
	for _, o := range cfg.ops {
		for _, c := range cfg.conc {
			k := cellKey{o, c}
			live := make([]bool, len(insts))
			queues := make([]*queue, len(insts))
			for i, in := range insts {
				a := &agg{}
				fr.targets[i].cells[k] = a
				switch {
				case o == opTouch && in.noTouch:
					a.skipped = "no touch in its API"
				case c > 1 && in.racyConc && raceEnabled:
					a.skipped = "data race in the store: run without -race"
				default:
					live[i] = true
				}
				if live[i] && o == opDelete {
					q, err := deleteQueue(ctx, cfg, in, fr.targets[i], c)
					if err != nil {
						return fr, fmt.Errorf("%s: seed for Delete: %w", fr.targets[i].name, err)
					}
					queues[i] = q
				}
			}
			for r := 0; r < cfg.rounds; r++ {
				for j := range insts {
					i := j
					if r%2 == 1 {
						i = len(insts) - 1 - j
					}
					if !live[i] {
						continue
					}
					s, err := runSlice(ctx, insts[i].impl, o, c, slice, cfg.maxOps, w, queues[i])
					if err != nil {
						return fr, fmt.Errorf("%s %s c=%d: %w", fr.targets[i].name, o, c, err)
					}
					fr.targets[i].cells[k].add(s)
				}
			}
			logf(cfg, "   %-12s c=%-3d %s", o, c, cellLine(fr, k))
		}
	}
	return fr, nil
}

// deleteQueue seeds the sessions that a Delete cell removes: as many as the
// target's Save rate says it can delete in the cell's time, with a margin.
// A slice that runs out ends early; its rate stays right.
func deleteQueue(ctx context.Context, cfg *config, in *instance, tr *targetResult, conc int) (*queue, error) {
	rate := tr.cells[cellKey{opSave200, conc}].rate()
	if rate == 0 {
		rate = tr.cells[cellKey{opFind, conc}].rate() / 2
	}
	if rate == 0 {
		rate = 2000
	}
	n := int(rate*cfg.d.Seconds()*1.5) + 100
	if cfg.maxOps > 0 {
		n = min(n, int(cfg.maxOps)*cfg.rounds+10)
	}
	n = min(n, 1_000_000)
	q := &queue{tokens: make([]string, n)}
	for i := range q.tokens {
		q.tokens[i] = sqlsession.NewToken()
	}
	if err := in.seed(ctx, q.tokens, randomBytes(200), defaultExpiry()); err != nil {
		return nil, err
	}
	return q, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// cellLine is the progress line of a cell.
func cellLine(fr *familyResult, k cellKey) string {
	var b strings.Builder
	for i, t := range fr.targets {
		a := t.cells[k]
		if i > 0 {
			b.WriteString(" | ")
		}
		if a.skipped != "" {
			fmt.Fprintf(&b, "%s —", t.name)
			continue
		}
		fmt.Fprintf(&b, "%s %.0f/s", t.name, a.rate())
		if i > 0 {
			fmt.Fprintf(&b, " %.2f×", relative(a, fr.floor().cells[k]))
		}
	}
	return b.String()
}
