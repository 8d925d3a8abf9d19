module example.com/testmod

go 1.21

require example.org/vdep v1.0.0
