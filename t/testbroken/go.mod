module example.com/testbroken

go 1.21
