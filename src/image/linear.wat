;; OpenCV's INTER_LINEAR resize of an 8-bit RGB image, fused with Paddle's normalization into float32
;; planes: the hot loop of preprocessing, in WebAssembly because the same loop in JavaScript ran 3-5x
;; slower (bounds and type checks on every typed-array access). The arithmetic is OpenCV's, exactly
;; (src/image/resize.ts holds the JavaScript version, the reference the tests compare this one with):
;;   horizontal pass  h = (s[p0]*a0 + s[p1]*a1) >> 4                    (11-bit weights, integers)
;;   vertical pass    v = min(255, (((b0*hA) >> 16) + ((b1*hB) >> 16) + 2) >> 2)
;;   normalization    y = (float(v)*A - B) [/ C]                         (float32, in Paddle's order)
;; The tables (source offsets, weights, per-row source rows) are computed in JavaScript, where OpenCV's
;; float32 coordinate rounding is reproduced once per axis; this module only runs the loops.
;;
;; Memory is laid out by the caller (src/image/linear-wasm.ts):
;;   xtab: per output column, 4 x i32: byte offset of its two source pixels in a row, their weights a0 a1
;;   ytab: per output row, 4 x i32: its two source rows, their weights b0 b1
;;   bufA, bufB: the horizontal passes of two source rows, three planes (R, G, B) of `stride` bytes each
;;   src: the source rows the window reads, one after the other (ytab's row numbers index them)
;;   params: per source channel, 16 bytes: i32 byte offset of its output plane, f32 A, f32 B, f32 C
(module
  (memory (export "memory") 1)

  ;; One source row (at $row) through the horizontal pass into three planes at $dst, $dst+$stride, ...
  (func $hpass (param $row i32) (param $xtab i32) (param $n i32) (param $dst i32) (param $stride i32)
    (local $end i32) (local $p0 i32) (local $p1 i32) (local $a0 i32) (local $a1 i32) (local $v v128)
    (local.set $end (i32.add (local.get $xtab) (i32.shl (local.get $n) (i32.const 4))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $xtab) (local.get $end)))
        (local.set $p0 (i32.add (local.get $row) (i32.load (local.get $xtab))))
        (local.set $p1 (i32.add (local.get $row) (i32.load offset=4 (local.get $xtab))))
        (local.set $a0 (i32.load offset=8 (local.get $xtab)))
        (local.set $a1 (i32.load offset=12 (local.get $xtab)))
        ;; the pixel's R, G, B (and the next byte, unused) in four lanes: both sources, weighted, summed
        (local.set $v
          (i32x4.shr_s
            (i32x4.add
              (i32x4.mul (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $p0))))
                         (i32x4.splat (local.get $a0)))
              (i32x4.mul (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $p1))))
                         (i32x4.splat (local.get $a1))))
            (i32.const 4)))
        (i32.store (local.get $dst) (i32x4.extract_lane 0 (local.get $v)))
        (i32.store (i32.add (local.get $dst) (local.get $stride)) (i32x4.extract_lane 1 (local.get $v)))
        (i32.store (i32.add (local.get $dst) (i32.shl (local.get $stride) (i32.const 1))) (i32x4.extract_lane 2 (local.get $v)))
        (local.set $xtab (i32.add (local.get $xtab) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $next))))

  ;; One plane of one output row: vertical pass, saturation, normalization; $n values to $out.
  (func $vpass (param $r0 i32) (param $r1 i32) (param $n i32) (param $b0 i32) (param $b1 i32)
               (param $out i32) (param $a f32) (param $b f32) (param $c f32) (param $div i32)
    (local $i i32) (local $vb0 v128) (local $vb1 v128) (local $va v128) (local $vbb v128) (local $vc v128)
    (local $v v128) (local $y v128) (local $s i32) (local $f f32)
    (local.set $vb0 (i32x4.splat (local.get $b0)))
    (local.set $vb1 (i32x4.splat (local.get $b1)))
    (local.set $va (f32x4.splat (local.get $a)))
    (local.set $vbb (f32x4.splat (local.get $b)))
    (local.set $vc (f32x4.splat (local.get $c)))
    ;; four values at a time
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
        (local.set $v
          (i32x4.min_s
            (i32x4.shr_s
              (i32x4.add
                (i32x4.add
                  (i32x4.shr_s (i32x4.mul (local.get $vb0) (v128.load (local.get $r0))) (i32.const 16))
                  (i32x4.shr_s (i32x4.mul (local.get $vb1) (v128.load (local.get $r1))) (i32.const 16)))
                (i32x4.splat (i32.const 2)))
              (i32.const 2))
            (i32x4.splat (i32.const 255))))
        (local.set $y (f32x4.sub (f32x4.mul (f32x4.convert_i32x4_s (local.get $v)) (local.get $va)) (local.get $vbb)))
        (if (local.get $div) (then (local.set $y (f32x4.div (local.get $y) (local.get $vc)))))
        (v128.store (local.get $out) (local.get $y))
        (local.set $r0 (i32.add (local.get $r0) (i32.const 16)))
        (local.set $r1 (i32.add (local.get $r1) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next)))
    ;; the rest, one at a time
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s
          (i32.shr_s
            (i32.add
              (i32.add
                (i32.shr_s (i32.mul (local.get $b0) (i32.load (local.get $r0))) (i32.const 16))
                (i32.shr_s (i32.mul (local.get $b1) (i32.load (local.get $r1))) (i32.const 16)))
              (i32.const 2))
            (i32.const 2)))
        (if (i32.gt_s (local.get $s) (i32.const 255)) (then (local.set $s (i32.const 255))))
        (local.set $f (f32.sub (f32.mul (f32.convert_i32_s (local.get $s)) (local.get $a)) (local.get $b)))
        (if (local.get $div) (then (local.set $f (f32.div (local.get $f) (local.get $c)))))
        (f32.store (local.get $out) (local.get $f))
        (local.set $r0 (i32.add (local.get $r0) (i32.const 4)))
        (local.set $r1 (i32.add (local.get $r1) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; The whole window: for each output row, the horizontal passes of its two source rows (each computed
  ;; once, reused by the next row when it reads the same source row), then the three planes.
  (func (export "resizeNormalize")
    (param $src i32) (param $rowBytes i32) (param $xtab i32) (param $n i32) (param $ytab i32) (param $rows i32)
    (param $bufA i32) (param $bufB i32) (param $stride i32) (param $out i32) (param $params i32) (param $div i32)
    (local $j i32) (local $s0 i32) (local $s1 i32) (local $syA i32) (local $syB i32) (local $t i32)
    (local $b0 i32) (local $b1 i32) (local $c i32) (local $p i32) (local $rowOut i32)
    (local.set $syA (i32.const -1))
    (local.set $syB (i32.const -1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $j) (local.get $rows)))
        (local.set $s0 (i32.load (local.get $ytab)))
        (local.set $s1 (i32.load offset=4 (local.get $ytab)))
        (local.set $b0 (i32.load offset=8 (local.get $ytab)))
        (local.set $b1 (i32.load offset=12 (local.get $ytab)))
        (if (i32.ne (local.get $s0) (local.get $syA))
          (then
            (if (i32.eq (local.get $s0) (local.get $syB))
              (then
                (local.set $t (local.get $bufA))
                (local.set $bufA (local.get $bufB))
                (local.set $bufB (local.get $t))
                (local.set $syB (local.get $syA))
                (local.set $syA (local.get $s0)))
              (else
                (call $hpass (i32.add (local.get $src) (i32.mul (local.get $s0) (local.get $rowBytes)))
                             (local.get $xtab) (local.get $n) (local.get $bufA) (local.get $stride))
                (local.set $syA (local.get $s0))))))
        (if (i32.ne (local.get $s1) (local.get $syB))
          (then
            (if (i32.eq (local.get $s1) (local.get $syA))
              (then (memory.copy (local.get $bufB) (local.get $bufA) (i32.mul (local.get $stride) (i32.const 3))))
              (else
                (call $hpass (i32.add (local.get $src) (i32.mul (local.get $s1) (local.get $rowBytes)))
                             (local.get $xtab) (local.get $n) (local.get $bufB) (local.get $stride))))
            (local.set $syB (local.get $s1))))
        ;; the three planes of this row
        (local.set $rowOut (i32.add (local.get $out) (i32.shl (i32.mul (local.get $j) (local.get $n)) (i32.const 2))))
        (local.set $c (i32.const 0))
        (local.set $p (local.get $params))
        (block $planes
          (loop $plane
            (br_if $planes (i32.ge_u (local.get $c) (i32.const 3)))
            (call $vpass
              (i32.add (local.get $bufA) (i32.mul (local.get $c) (local.get $stride)))
              (i32.add (local.get $bufB) (i32.mul (local.get $c) (local.get $stride)))
              (local.get $n) (local.get $b0) (local.get $b1)
              (i32.add (local.get $rowOut) (i32.load (local.get $p)))
              (f32.load offset=4 (local.get $p)) (f32.load offset=8 (local.get $p)) (f32.load offset=12 (local.get $p))
              (local.get $div))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $plane)))
        (local.set $ytab (i32.add (local.get $ytab) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next))))
)
