/**
 * A function's deployment package: the project's own build (infra/bundling.ts), run by the
 * CDK's local bundling hook into the asset directory, so `cdk deploy` ships exactly what
 * `npm run build` writes to `dist/<function>/`. No Docker: the hook always bundles locally
 * (the image is never pulled; the hook never declines).
 */
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Code } from 'aws-cdk-lib/aws-lambda';
import type { FunctionName } from '../lib/functionFields.js';
import { bundleFunction, PROJECT_ROOT } from './bundling.js';

export function functionCode(name: FunctionName): Code {
  return Code.fromAsset(PROJECT_ROOT, {
    // The hash of what is deployed, not of the project directory.
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry('voice-service/no-docker-bundling'),
      // Never run (no Docker), but part of the key the CDK caches staged assets by, which the
      // local hook is not: without the name every function would get the first one's bundle.
      command: ['bundle', name],
      local: {
        tryBundle(outputDir) {
          bundleFunction(name, outputDir);
          return true;
        },
      },
    },
  });
}
