package runtime_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"testing"

	"github.com/jitwx/jit/runtime"
)

// Benchmarks, each beside its floor (see BENCHMARKS.md):
//
//	go test -run '^$' -bench . -benchmem -count 6 ./runtime/

var (
	benchDirs    = map[int]string{}
	benchDirsMu  sync.Mutex
	benchCleanup []string
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range benchCleanup {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// benchItem is the folder of the i-th generated instance.
func benchItem(i int) string { return fmt.Sprintf("items/g%02d/Item%05d", i/100, i) }

// benchApp generates, once per size, an app of n instances of CheapType
// (plus its Meta and Type folders) and returns its folder.
func benchApp(b *testing.B, n int) string {
	b.Helper()
	benchDirsMu.Lock()
	defer benchDirsMu.Unlock()
	if d, ok := benchDirs[n]; ok {
		return d
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("jit-bench-%d-", n))
	if err != nil {
		b.Fatal(err)
	}
	benchCleanup = append(benchCleanup, dir)
	writeFile(b, filepath.Join(dir, "demo/bench/Meta/e.json"), `{"title":"bench Meta"}`)
	writeFile(b, filepath.Join(dir, "demo/bench/CheapType/e.json"), `{"title":"cheap","type":"demo.bench.Meta"}`)
	writeFile(b, filepath.Join(dir, "demo/bench/CheapType/CheapType.json"), `{"n":0}`)
	for i := range n {
		item := filepath.Join(dir, benchItem(i))
		writeFile(b, filepath.Join(item, "e.json"), fmt.Sprintf(`{"title":"Item %d","type":"demo.bench.CheapType"}`, i))
		writeFile(b, filepath.Join(item, filepath.Base(item)+".json"), fmt.Sprintf(`{"n":%d}`, i))
	}
	benchDirs[n] = dir
	return dir
}

func loadBench(b *testing.B, dir string) *runtime.Runtime {
	rt, err := runtime.New(context.Background(), []runtime.Layer{{Name: "app", FS: os.DirFS(dir), Dir: dir}}, nil,
		runtime.WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	if p := rt.Snapshot().Problems(); len(p) != 0 {
		b.Fatalf("problems: %v", p)
	}
	return rt
}

const benchKey = "items.g42.Item04242"

func BenchmarkGetElement(b *testing.B) {
	rt := loadBench(b, benchApp(b, 10_000))
	defer rt.Close()
	goruntime.GC() // the load's garbage must not be collected inside the timed loop
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e, ok := rt.Snapshot().Get(benchKey)
			if !ok || e.Object == nil {
				b.Fatal("miss")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e, ok := rt.Snapshot().Get(benchKey)
				if !ok || e.Object == nil {
					b.Fatal("miss")
				}
			}
		})
	})
}

// BenchmarkGetElementAfterReload is GetElement once a reload has put an
// overlay over the base map: the state of a long-running app.
func BenchmarkGetElementAfterReload(b *testing.B) {
	dir := benchApp(b, 10_000)
	rt := loadBench(b, dir)
	defer rt.Close()
	cfg := benchItem(7) + "/Item00007.json"
	writeFile(b, filepath.Join(dir, cfg), `{"n":-7}`)
	if err := rt.Reload(context.Background(), []runtime.Change{{Layer: 0, Path: cfg}}); err != nil {
		b.Fatal(err)
	}
	goruntime.GC()
	b.ReportAllocs()
	for b.Loop() {
		e, ok := rt.Snapshot().Get(benchKey)
		if !ok || e.Object == nil {
			b.Fatal("miss")
		}
	}
}

func BenchmarkMapLookupFloor(b *testing.B) {
	rt := loadBench(b, benchApp(b, 10_000))
	defer rt.Close()
	m := map[string]any{}
	for _, e := range rt.Snapshot().Entries() {
		m[e.FullName] = e.Object
	}
	goruntime.GC()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if o, ok := m[benchKey]; !ok || o == nil {
				b.Fatal("miss")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if o, ok := m[benchKey]; !ok || o == nil {
					b.Fatal("miss")
				}
			}
		})
	})
}

func BenchmarkColdLoad10k(b *testing.B) {
	dir := benchApp(b, 10_000)
	b.ReportAllocs()
	for b.Loop() {
		rt := loadBench(b, dir)
		rt.Close()
	}
	// Memory kept per loaded instance, measured once outside the loop.
	var before, after goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&before)
	rt := loadBench(b, dir)
	goruntime.GC()
	goruntime.ReadMemStats(&after)
	if n := rt.Snapshot().Len(); n < 10_000 {
		b.Fatalf("%d elements", n)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/10_000, "heapB/instance")
	goruntime.KeepAlive(rt)
	rt.Close()
}

func BenchmarkReadFilesFloor10k(b *testing.B) {
	dir := benchApp(b, 10_000)
	fsys := os.DirFS(dir)
	b.ReportAllocs()
	for b.Loop() {
		files := 0
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if _, err := fs.ReadFile(fsys, p); err != nil {
				return err
			}
			files++
			return nil
		})
		if err != nil || files < 20_000 {
			b.Fatal(err, files)
		}
	}
}

func benchReload(b *testing.B, n int) {
	dir := benchApp(b, n)
	rt := loadBench(b, dir)
	defer rt.Close()
	item := benchItem(n / 2)
	cfg := item + "/" + filepath.Base(item) + ".json"
	name := filepath.ToSlash(item)
	ctx := context.Background()
	changes := []runtime.Change{{Layer: 0, Path: cfg}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		writeFile(b, filepath.Join(dir, cfg), fmt.Sprintf(`{"n":%d}`, 1_000_000+i))
		b.StartTimer()
		if err := rt.Reload(ctx, changes); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	e, ok := rt.Snapshot().Get(elementName(name))
	if !ok || e.Object.(*Cheap).N != float64(1_000_000+i) {
		b.Fatalf("reload not applied: %+v", e)
	}
}

func elementName(dir string) string {
	out := []byte(dir)
	for i, c := range out {
		if c == '/' {
			out[i] = '.'
		}
	}
	return string(out)
}

func BenchmarkReload1of10k(b *testing.B) { benchReload(b, 10_000) }
func BenchmarkReload1of10(b *testing.B)  { benchReload(b, 10) }
