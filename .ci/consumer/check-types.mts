// A consumer's TypeScript: the main entry's types must check with skipLibCheck false.
import { type Classification, type ClassifierOptions, PplcnetError, createClassifier } from 'pplcnet';

const options: ClassifierOptions = { model: 'PP-LCNet_x0_25_textline_ori', threads: 1 };
const clf = await createClassifier(options);
const result: Classification = await clf.classify('line.png');
const best: string = result.topk[0]?.label ?? '';
const failure: PplcnetError | undefined = undefined;
await clf.close();
console.log(best, failure);
