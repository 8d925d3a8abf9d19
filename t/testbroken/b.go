package main

func helper() int {
	return undefinedThing + 1
}
