package torch

import "fmt"

func ExampleParse() {
	ts, keys, storages, numel := sample() // a small state dict as torch.save writes it
	c, err := Parse("sample.pth", legacyCheckpoint(ts, keys, storages, numel, false))
	if err != nil {
		fmt.Println(err)
		return
	}
	w, err := c.Tensor("conv.weight", 2, 3)
	fmt.Println(w.Data, err)
	_, err = c.Tensor("conv.weight", 3, 3)
	fmt.Println(err)
	// Output:
	// [1 2 3 4 5 6] <nil>
	// checkpoint sample.pth: conv.weight has shape [2 3], want [3 3]
}
