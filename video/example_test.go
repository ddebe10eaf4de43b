package video_test

import (
	"fmt"

	"github.com/stylize/stylize/video"
)

func ExampleParseTime() {
	for _, s := range []string{"90", "1.5", "1m30s", "01:02:03.5"} {
		d, _ := video.ParseTime(s)
		fmt.Println(s, "=", d)
	}
	_, err := video.ParseTime("soon")
	fmt.Println(err)
	// Output:
	// 90 = 1m30s
	// 1.5 = 1.5s
	// 1m30s = 1m30s
	// 01:02:03.5 = 1h2m3.5s
	// time "soon": want seconds (90, 1.5), a duration (1m30s) or [HH:]MM:SS
}
