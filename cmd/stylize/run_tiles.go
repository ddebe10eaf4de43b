package main

import (
	"context"
	"errors"
	"strings"

	"github.com/stylize/stylize/configs"
	"github.com/stylize/stylize/tiles"
	"github.com/stylize/stylize/tiles/store"
)

func init() {
	batchKinds[configs.KindTiles] = func(e *configs.Engines) configs.Executor { return &tilesExecutor{engines: e} }
}

// tilesExecutor runs tiles jobs as `stylize tiles` does.
type tilesExecutor struct{ engines *configs.Engines }

// options builds tiles.Options from the job, as runTiles does from flags.
func (x *tilesExecutor) options(j *configs.Job, source, output string) (tiles.Options, []error) {
	var errs []error
	o := tiles.Options{Source: source, Output: output, Overviews: -1, Stats: tiles.StatsMode(j.Stats),
		SourceOptions: tiles.SourceOptions{HTTP: store.HTTPOptions{Contact: j.UserAgent, CacheDir: j.Cache}}}
	if j.TMS != nil {
		o.SourceOptions.TMS = *j.TMS
	}
	if j.Rate != nil {
		o.SourceOptions.HTTP.Rate = *j.Rate
	}
	if j.HTTPConcurrency != nil {
		o.SourceOptions.HTTP.Concurrency = *j.HTTPConcurrency
	}
	if o.SourceOptions.HTTP.CacheDir == "" {
		o.SourceOptions.HTTP.CacheDir = strings.TrimSuffix(output, "/") + ".cache"
	}
	if z0, z1, err := parseZoomRange(j.Zoom); err != nil {
		errs = append(errs, &configs.FieldError{Key: "zoom", Err: err})
	} else {
		o.MinZoom, o.MaxZoom = z0, z1
	}
	for _, p := range []struct {
		v   *int
		dst *int
	}{{j.Overviews, &o.Overviews}, {j.Metatile, &o.Metatile}, {j.Quality, &o.Quality}, {j.Workers, &o.Workers}} {
		if p.v != nil {
			*p.dst = *p.v
		}
	}
	if j.Margin != nil {
		o.Margin = tileMargin(*j.Margin) // margin: 0 means none, as --margin 0
	}
	if j.PerZoom != nil {
		o.PerZoom = *j.PerZoom
	}
	if j.Format != "" {
		f, err := tiles.ParseFormat(j.Format)
		if err != nil {
			errs = append(errs, &configs.FieldError{Key: "format", Err: err})
		}
		o.Format = f
	}
	var err error
	switch {
	case j.BBox != "":
		if o.Region, err = tiles.ParseBBox(j.BBox); err != nil {
			errs = append(errs, &configs.FieldError{Key: "bbox", Err: err})
		}
	case j.GeoJSON != "":
		if o.Region, err = tiles.ReadGeoJSON(j.GeoJSON); err != nil {
			errs = append(errs, &configs.FieldError{Key: "geojson", Err: err})
		}
	}
	return o, errs
}

func (x *tilesExecutor) Check(ctx context.Context, j *configs.Job) []error {
	if len(j.Items) == 0 {
		return nil
	}
	o, errs := x.options(j, j.Items[0].Input, j.Items[0].Output)
	if len(errs) == 0 {
		if err := o.Validate(); err != nil {
			errs = append(errs, keyed(err, "zoom", "overviews", "metatile", "margin", "stats", "format", "quality", "workers"))
		}
	}
	if j.MaxSide != nil && *j.MaxSide > 0 {
		errs = append(errs, &configs.FieldError{Key: "max_side", Err: errors.New("not supported for tiles (tiles keep their resolution; pick the zoom instead)")})
	}
	if err := j.ModelOptions().Validate(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func (x *tilesExecutor) Run(ctx context.Context, t configs.Task) error {
	o, errs := x.options(t.Job, t.Input, t.Output)
	if len(errs) > 0 {
		return errs[0]
	}
	o.Quiet, o.Progress = t.Progress.Quiet, t.Progress.W
	mo := t.Job.ModelOptions()
	// The metatile margin is the context; the model pads only to its size
	// multiple (as `stylize tiles` does).
	mo.Conventions.Margin, mo.Conventions.MarginSet = 0, true
	eng, release, err := x.engines.Acquire(ctx, mo)
	if err != nil {
		return err
	}
	defer release()
	_, err = tiles.Run(ctx, eng, o)
	return err
}
