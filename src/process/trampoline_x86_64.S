/*
 * The start trampoline (x86_64): the container's init becomes this tiny
 * program at the end of `create`, so that from then on no process in the
 * container runs from the rrun binary (CVE-2019-5736 class; see
 * src/process/trampoline.rs and docs/design.md "The start trampoline").
 * No libc, no stack data beyond one byte, no memory writes elsewhere.
 *
 * argv: [name, ready tag, sync fd, listening exec.sock fd, "-" or "!",
 *        program path, program argv...]; envp is the program's.
 *
 * 1. Not dumpable (execve of the readable memfd made us dumpable again:
 *    no container process may ptrace the holder of the sync socket and
 *    exec.sock; the program's own execve makes it dumpable as usual);
 *    comm = name (prctl PR_SET_NAME).
 * 2. Send the one-byte Ready message on the sync socket: rrun's `create`
 *    learns the init is ready only once it runs this program.
 * 3. Wait for start: with a listening socket, accept4 until a connection
 *    sends 'S' and answer 'O' (the connection is close-on-exec: `start`
 *    sees its end when the program runs); with "-" (`run`), read one
 *    packet (Start) from the sync socket; with "!" (`run`'s immediate
 *    start), do not wait.
 * 4. Mark the sync and listening sockets close-on-exec; execve the program.
 *    If that fails: `rrun: exec "<argv[0]>": <error>` on stderr (as rrun
 *    words it; "errno <n>" for an error not in the table), exit 127.
 * End of file or an error before the program: exit 1.
 */
	.intel_syntax noprefix
	.text
	.globl _start

	.set SYS_read, 0
	.set SYS_write, 1
	.set SYS_close, 3
	.set SYS_execve, 59
	.set SYS_sendto, 44
	.set SYS_fcntl, 72
	.set SYS_prctl, 157
	.set SYS_exit_group, 231
	.set SYS_accept4, 288
	.set PR_SET_NAME, 15
	.set PR_SET_DUMPABLE, 4
	.set F_SETFD, 2
	.set FD_CLOEXEC, 1
	.set SOCK_CLOEXEC, 0x80000
	.set EINTR, 4
	.set MSG_NOSIGNAL, 0x4000

/* Defined before use: the assembler then takes the lengths as immediates. */
msg_exec:
	.ascii	"rrun: exec \""
	.set msg_exec_len, . - msg_exec
msg_quote:
	.ascii	"\": "
	.set msg_quote_len, . - msg_quote
msg_errno:
	.ascii	"errno "
	.set msg_errno_len, . - msg_errno
msg_newline:
	.ascii	"\n"
/* The errors execve gives for a program that was found: errno, length, text. */
	.macro	errtext n, text
	.byte	\n, 2f - 1f
1:	.ascii	"\text"
2:
	.endm
errno_texts:
	errtext	1, "operation not permitted"
	errtext	2, "no such file or directory"
	errtext	7, "argument list too long"
	errtext	8, "exec format error"
	errtext	12, "cannot allocate memory"
	errtext	13, "permission denied"
	errtext	20, "not a directory"
	errtext	26, "text file busy"
	errtext	40, "too many levels of symbolic links"
	.byte	0

_start:
	mov	r12, [rsp]			/* argc */
	lea	r13, [rsp + 8]			/* argv */
	lea	r14, [r13 + r12 * 8 + 8]	/* envp */
	sub	rsp, 32				/* [rsp]: one-byte buffer */
	and	rsp, -16
	cmp	r12, 5
	jb	quit

	mov	eax, SYS_prctl
	mov	edi, PR_SET_DUMPABLE
	xor	esi, esi
	syscall
	test	rax, rax
	jnz	quit

	mov	eax, SYS_prctl
	mov	edi, PR_SET_NAME
	mov	rsi, [r13]
	syscall

	mov	rdi, [r13 + 8]
	call	parse_fd
	mov	[rsp], al			/* the Ready tag */
	mov	rdi, [r13 + 16]
	call	parse_fd
	mov	ebx, eax			/* sync fd */
	mov	rdi, [r13 + 24]
	call	parse_fd
	mov	ebp, eax			/* listening fd, or -1 */

	mov	edi, ebx
	call	write_byte			/* Ready */
	cmp	rax, 1
	jne	quit

	mov	rax, [r13 + 24]
	cmp	byte ptr [rax], '!'		/* the immediate start: no wait */
	je	run_program
	test	ebp, ebp
	js	wait_sync

accept_next:
	mov	eax, SYS_accept4
	mov	edi, ebp
	xor	esi, esi
	xor	edx, edx
	mov	r10d, SOCK_CLOEXEC
	syscall
	cmp	rax, -EINTR
	je	accept_next
	test	rax, rax
	js	quit
	mov	r15, rax			/* the connection */
	mov	edi, r15d
	call	read_byte
	cmp	rax, 1
	jne	reject
	cmp	byte ptr [rsp], 'S'
	jne	reject
	mov	byte ptr [rsp], 'O'
	mov	edi, r15d
	call	write_byte
	jmp	run_program
reject:
	mov	eax, SYS_close
	mov	edi, r15d
	syscall
	jmp	accept_next

wait_sync:
	mov	edi, ebx
	call	read_byte			/* Start (a packet: the rest is dropped) */
	cmp	rax, 1
	jne	quit

run_program:
	mov	edi, ebx
	call	set_cloexec
	test	ebp, ebp
	js	1f
	mov	edi, ebp
	call	set_cloexec
1:	mov	eax, SYS_execve
	mov	rdi, [r13 + 32]
	lea	rsi, [r13 + 40]
	mov	rdx, r14
	syscall
	neg	rax
	mov	r12, rax			/* errno */

	lea	rsi, [rip + msg_exec]
	mov	edx, msg_exec_len
	call	write_err
	mov	rsi, [r13 + 40]			/* the program's argv[0] */
	xor	edx, edx
2:	cmp	byte ptr [rsi + rdx], 0
	je	3f
	inc	rdx
	jmp	2b
3:	call	write_err
	lea	rsi, [rip + msg_quote]
	mov	edx, msg_quote_len
	call	write_err
	/* the errno's text from the table, else "errno <n>" */
	lea	rsi, [rip + errno_texts]
10:	movzx	eax, byte ptr [rsi]
	test	eax, eax
	jz	11f
	movzx	edx, byte ptr [rsi + 1]
	cmp	rax, r12
	je	12f
	lea	rsi, [rsi + rdx + 2]
	jmp	10b
12:	add	rsi, 2
	call	write_err
	lea	rsi, [rip + msg_newline]
	mov	edx, 1
	call	write_err
	mov	edi, 127
	jmp	exit
11:	lea	rsi, [rip + msg_errno]
	mov	edx, msg_errno_len
	call	write_err
	/* errno in decimal, backwards from the end of a 16-byte buffer */
	lea	rsi, [rsp + 16]
	mov	byte ptr [rsi], 10		/* '\n' */
	mov	rax, r12
	mov	ecx, 10
4:	xor	edx, edx
	div	rcx
	add	dl, '0'
	dec	rsi
	mov	[rsi], dl
	test	rax, rax
	jnz	4b
	lea	rdx, [rsp + 17]
	sub	rdx, rsi
	call	write_err
	mov	edi, 127
	jmp	exit

quit:
	mov	edi, 1
exit:
	mov	eax, SYS_exit_group
	syscall
	hlt

/* "123" -> 123 in eax; "-" (or anything not a digit first) -> -1 */
parse_fd:
	movzx	ecx, byte ptr [rdi]
	sub	ecx, '0'
	cmp	ecx, 9
	ja	6f
	xor	eax, eax
5:	movzx	ecx, byte ptr [rdi]
	sub	ecx, '0'
	cmp	ecx, 9
	ja	7f
	imul	eax, eax, 10
	add	eax, ecx
	inc	rdi
	jmp	5b
6:	mov	eax, -1
7:	ret

/* send(edi, [rsp of the caller], 1, MSG_NOSIGNAL), again on EINTR;
   rax = result (a peer gone is EPIPE, not a SIGPIPE) */
write_byte:
	lea	rsi, [rsp + 8]
	mov	edx, 1
	mov	r10d, MSG_NOSIGNAL
	xor	r8d, r8d
	xor	r9d, r9d
8:	mov	eax, SYS_sendto
	syscall
	cmp	rax, -EINTR
	je	8b
	ret

/* read(edi, [rsp of the caller], 1), again on EINTR; rax = result */
read_byte:
	lea	rsi, [rsp + 8]
	mov	edx, 1
9:	mov	eax, SYS_read
	syscall
	cmp	rax, -EINTR
	je	9b
	ret

/* fcntl(edi, F_SETFD, FD_CLOEXEC) */
set_cloexec:
	mov	eax, SYS_fcntl
	mov	esi, F_SETFD
	mov	edx, FD_CLOEXEC
	syscall
	ret

/* write(2, rsi, rdx), errors ignored */
write_err:
	mov	eax, SYS_write
	mov	edi, 2
	syscall
	ret
