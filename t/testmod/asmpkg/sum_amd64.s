#include "go_asm.h"
#include "textflag.h"

// func sumPair(p *pair) int64
TEXT ·sumPair(SB), NOSPLIT, $0-16
	MOVQ	p+0(FP), AX
	MOVQ	pair_a(AX), BX
	MOVQ	pair_b(AX), CX
	ADDQ	CX, BX
	IMULQ	$const_scale, BX
	MOVQ	BX, ret+8(FP)
	RET
